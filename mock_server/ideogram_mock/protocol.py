"""Encoding the JSON the mock sends: Runware envelopes (``{"data": [...], "errors": [...]}``).

Every envelope body — ``/v1`` answers, webhook POSTs, ``/images`` errors — goes through
:func:`encode`, the one place a test suite can hook to check them all against the
``response`` schema.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["encode"]


def encode(body: dict[str, Any]) -> bytes:
    """``body`` as compact UTF-8 JSON."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
