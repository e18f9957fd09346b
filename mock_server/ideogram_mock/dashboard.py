"""The live dashboard: ``GET /`` shows what the application sent and what the mock answered.

The page is a server-rendered shell (``static/dashboard.html``) plus one script and one style
sheet served by the mock itself (``/_mock/static/...``); no build step and no external assets.
The script polls the inspection API a test reads (``/_mock/requests``, ``/_mock/tasks``,
``/_mock/deliveries``, ``/_mock/config``), so the page has no second source of truth. Those
endpoints carry an ``ETag`` built from :attr:`MockEngine.changes <ideogram_mock.engine.MockEngine.changes>`;
a poll with a matching ``If-None-Match`` is answered ``304`` without serializing anything.

Everything a client sent is shown with ``textContent`` (never parsed as HTML), and the page
is served with a strict Content-Security-Policy (:data:`CSP`): scripts and styles only from
the mock's own files, images only from the mock or ``data:`` URIs, no inline script, no
framing, no form posts.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from collections.abc import Callable
from importlib import resources
from string import Template
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .engine import MockEngine

__all__ = ["CSP", "inspection_response", "routes"]

#: The page's Content-Security-Policy: nothing from anywhere but the mock, no inline code.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_STATIC_TYPES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
#: Tells one process's engines (and a restarted server) apart in ETags.
_PROCESS = secrets.token_hex(4)


def _static(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


#: Items one inspection answer holds unless ``?limit=`` says otherwise, and at most; and the most bytes
#: one answer holds (it ends early, with a ``Link`` to the rest, past them; at least one item is sent).
PAGE_SIZE, MAX_PAGE_SIZE, PAGE_BYTES = 1000, 10_000, 4 * 1024 * 1024


def _page(request: Request, items: list[Any]) -> tuple[bytes, dict[str, str]] | str:
    """The JSON of the page of ``items`` that ``?limit=N&offset=M`` asks for (default: the newest
    items), at most ``PAGE_BYTES`` long, with ``X-Total-Count`` (and ``Link: rel="next"``); or why the
    parameters are wrong."""
    params = request.query_params
    try:
        limit = int(params.get("limit", PAGE_SIZE))
        offset = int(params["offset"]) if "offset" in params else None
    except ValueError:
        return "limit and offset must be whole numbers"
    if not (1 <= limit <= MAX_PAGE_SIZE and (offset is None or offset >= 0)):
        return f"limit must be 1..{MAX_PAGE_SIZE} and offset >= 0"
    parts: list[str] = []
    size = 0
    if offset is None:  # the newest page: walk back from the end
        index = len(items)
        while index > 0 and len(parts) < limit:
            part = json.dumps(items[index - 1], default=str)
            if parts and size + len(part) > PAGE_BYTES:
                break
            parts.append(part)
            size += len(part) + 1
            index -= 1
        parts.reverse()
        offset = index
    else:
        for item in items[offset : offset + limit]:
            part = json.dumps(item, default=str)
            if parts and size + len(part) > PAGE_BYTES:
                break
            parts.append(part)
            size += len(part) + 1
    headers = {"X-Total-Count": str(len(items))}
    if offset + len(parts) < len(items):
        headers["Link"] = f'<{request.url.path}?offset={offset + len(parts)}&limit={limit}>; rel="next"'
    return ("[" + ",".join(parts) + "]").encode(), headers


def inspection_response(request: Request, engine: MockEngine, value: Callable[[], Any]) -> Response:
    """``value()`` as JSON with an ``ETag``; ``304`` when the client's ``If-None-Match`` is current.

    A list is paged (``?limit=N&offset=M``; by default the newest 1,000 items, oldest first, and never
    more than 4 MiB), so no answer grows with the mock's state; image data is never inlined.
    """
    tag = f'W/"{_PROCESS}-{id(engine):x}-{engine.changes}"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if tag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    found = value()
    if not isinstance(found, list):
        return Response(json.dumps(found, default=str), headers=headers, media_type="application/json")
    page = _page(request, found)
    if isinstance(page, str):
        return Response(json.dumps({"error": page}), 400, media_type="application/json")
    body, more = page
    return Response(body, headers={**headers, **more}, media_type="application/json")


def routes(engine: MockEngine) -> list[Route]:
    """``GET /`` (the page) and ``GET /_mock/static/{name}`` (its script and style sheet)."""
    page = Template(_static("dashboard.html").decode())
    files = {name: (_static(name), kind) for name, kind in _STATIC_TYPES.items()}
    etags = {name: '"' + hashlib.sha256(data).hexdigest()[:16] + '"' for name, (data, _) in files.items()}

    async def index(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        endpoint = str(request.base_url).rstrip("/") + "/v1"
        body = page.substitute(root=html.escape(root), endpoint=html.escape(endpoint))
        return Response(body, headers=_HEADERS, media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            return Response("not found", 404, media_type="text/plain")
        data, kind = files[name]
        headers = {**_HEADERS, "ETag": etags[name]}
        if request.headers.get("if-none-match") == etags[name]:
            return Response(status_code=304, headers=headers)
        return Response(data, headers=headers, media_type=kind)

    return [
        Route("/", index, methods=["GET"]),
        Route("/_mock/static/{name}", static, methods=["GET"]),
    ]
