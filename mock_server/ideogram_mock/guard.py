"""No other web page may drive the mock: an ASGI guard in front of every route.

A developer's browser can reach ``127.0.0.1:8000`` from any page it visits. Three checks keep
such pages out, before the app sees the request (HTTP and WebSocket alike):

- **Origin**: a request that carries an ``Origin`` header (browsers send it on cross-origin
  requests, on every non-GET request and on WebSocket handshakes) is refused unless the origin
  is a loopback one (``http://localhost:3000``, ``http://127.0.0.1:8000``, ``http://[::1]``) or
  is listed in ``MockConfig.allowed_origins`` (``"*"`` allows any). ``Origin: null`` (sandboxed
  frames, file pages) is refused.
- **Host**: a request whose ``Host`` is not a loopback name (``localhost``, ``*.localhost``,
  ``127.0.0.0/8``, ``::1``), the address the server bound, the host of ``public_base_url`` or a
  name in ``allowed_hosts`` is refused. This defeats DNS rebinding: a page of ``evil.example``
  whose name later resolves to ``127.0.0.1`` still sends ``Host: evil.example``.
- **Content type**: a state-changing ``/_mock/*`` request (POST, PATCH, PUT) must say
  ``Content-Type: application/json``, which no page can send cross-site without a CORS
  preflight (which the mock never grants).

Refusals are Runware-style envelopes: 403 ``forbiddenOrigin`` / ``forbiddenHost``, 415
``unsupportedMediaType``; a refused WebSocket handshake gets HTTP 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from . import protocol
from .config import MockConfig
from .delivery import is_loopback_address
from .engine import error_item

__all__ = ["CrossSiteGuard", "is_loopback_name"]

_STATE_CHANGING = frozenset({"POST", "PATCH", "PUT"})  # DELETE: no /_mock/ route takes it (405)


@functools.lru_cache(maxsize=1024)  # a few names, asked on every request
def is_loopback_name(host: str) -> bool:
    """``localhost``, a ``.localhost`` name, or a loopback address (``127.0.0.0/8``, ``::1``)."""
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost") or is_loopback_address(host)


def _hostname(host_header: str) -> str:
    """The name of a ``Host`` header value, without its port (``[::1]:8000`` gives ``[::1]``)."""
    if host_header.startswith("["):
        return host_header.partition("]")[0] + "]"
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


class CrossSiteGuard:
    """ASGI middleware: refuse requests from other web pages (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: Callable[[], MockConfig], extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.config = config
        self.extra_hosts = frozenset(h.lower() for h in extra_hosts)

    def problem(self, scope: Scope) -> tuple[int, str, str] | None:
        """``(status, code, message)`` when the request must be refused, else None."""
        headers = Headers(scope=scope)
        cfg = self.config()
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin, cfg):
            return 403, "forbiddenOrigin", (
                f"Requests from the web page {origin[:100]!r} are refused: the mock answers loopback origins "
                "and those in its allowed_origins setting only."
            )  # fmt: skip
        host = headers.get("host")
        if host is not None and not self._host_ok(_hostname(host.strip()).lower(), cfg):
            return 403, "forbiddenHost", (
                f"Host {host[:100]!r} is not this mock's: it answers loopback names, the address it is bound to, "
                "the host of public_base_url and those in allowed_hosts."
            )  # fmt: skip
        method = scope.get("method", "GET")
        if scope["type"] == "http" and method in _STATE_CHANGING and scope["path"].startswith("/_mock/"):
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type != "application/json":
                return 415, "unsupportedMediaType", (
                    f"{method} {scope['path']} takes Content-Type: application/json (got {media_type or 'none'!r})."
                )  # fmt: skip
        return None

    @staticmethod
    def _origin_ok(origin: str, cfg: MockConfig) -> bool:
        if "*" in cfg.allowed_origins or origin in cfg.allowed_origins:
            return True
        try:
            parts = urlsplit(origin)
            return parts.scheme in ("http", "https") and bool(parts.hostname) and is_loopback_name(parts.hostname or "")
        except ValueError:
            return False

    def _host_ok(self, host: str, cfg: MockConfig) -> bool:
        if is_loopback_name(host) or host in self.extra_hosts or host == cfg.host.lower():
            return True
        allowed = {h.lower() for h in cfg.allowed_hosts}
        if "*" in allowed or host in allowed:
            return True
        if cfg.public_base_url is not None:
            return host == (urlsplit(cfg.public_base_url).hostname or "").lower()
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.problem(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refused
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        body = protocol.encode(protocol.rest_errors([error_item(code, message)]))
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
