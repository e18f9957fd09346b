"""Encoding the JSON the mock sends: Runware envelopes (``{"data": [...], "errors": [...]}``).

Every envelope body — ``/v1`` answers, WebSocket frames, ``/images`` errors, webhook POSTs in
the ``data`` shape — goes through :func:`encode`, and every flat webhook body (one result or
error item, the shape Runware's own skills repo describes) through :func:`encode_item`: the two
places a test suite can hook to check them all against the ``response`` schema.

REST error bodies carry ``"data": []`` beside ``errors`` (:func:`rest_errors`), as captured
Runware answers and the SDKs' fixtures show; WebSocket error frames are ``{"errors": [...]}``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["encode", "encode_item", "rest_errors"]


# made once: json.dumps with any option builds a new encoder on every call
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))


def _dumps(value: Any) -> bytes:
    text = _COMPACT.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from the client: \\uXXXX escapes are valid JSON
        return _COMPACT_ASCII.encode(value).encode("ascii")


def encode(body: dict[str, Any]) -> bytes:
    """``body`` (an envelope) as compact UTF-8 JSON."""
    return _dumps(body)


def encode_item(item: dict[str, Any]) -> bytes:
    """One result or error item, not wrapped in an envelope (flat webhook bodies)."""
    return _dumps(item)


def rest_errors(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """A REST error body: ``{"data": [], "errors": errors}``."""
    return {"data": [], "errors": errors}
