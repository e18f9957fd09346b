"""The HTTP layer: a Starlette app over a :class:`~ideogram_mock.engine.MockEngine`.

``create_app(config)`` builds a fresh engine; ``create_app(engine=engine)`` serves an existing
one (so a test can inspect it directly). The app holds no state of its own and uses no
lifespan events, so uvicorn, ``httpx.ASGITransport`` and respx all serve it the same way.

Routes: ``POST /v1`` and WebSocket ``/v1`` (the Runware protocol; the socket side is
:mod:`ideogram_mock.websocket`), ``GET /images/<imageUUID>.<ext>`` (URL outputs),
``/_mock/*`` (inspection and control), ``GET /openapi.json``, ``GET /`` (the live dashboard,
:mod:`ideogram_mock.dashboard`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from ideogram_kit.payloads import JSONInputError

from . import dashboard, protocol
from .config import ConfigError, MockConfig
from .engine import MockEngine, error_item
from .guard import CrossSiteGuard
from .openapi import openapi_document
from .websocket import WebSocketHub

__all__ = ["create_app"]


def _envelope(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(protocol.encode(body), status, headers, media_type="application/json")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, default=str), status, media_type="application/json")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The body, read off the ASGI ``receive`` until it ends or passes ``limit`` bytes (then longer
    than ``limit``: the rest is not read); None when the client left mid-body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _no_route(request: Request, exc: Exception) -> Response:
    """404 and 405 as Runware-style envelopes (``unknownEndpoint``, ``methodNotAllowed``), not plain text."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        hint = None
        if request.url.path == "/v1":
            hint = "the WebSocket protocol is a GET with an Upgrade: websocket header"
        err = error_item(
            "methodNotAllowed", f"{request.url.path} does not take {request.method}; it takes {allowed}.", hint=hint
        )
    else:
        err = error_item(
            "unknownEndpoint",
            f"No route at {request.url.path}: the API is POST /v1 (and the WebSocket /v1).",
            hint="the mock's own routes are listed at /openapi.json",
        )
    return _envelope(protocol.rest_errors([err]), exc.status_code, dict(exc.headers or {}))


async def _refused(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - never called
    raise AssertionError("the fast path's guard only checks")


class _RestEndpoint:
    """``POST /v1`` as a bare ASGI endpoint: read the body (up to the limit), let the engine answer.

    It is both the ``/v1`` route's endpoint and the app's fast path (see :class:`_MockApp`), so the
    most frequent request skips Starlette's request and response objects and middleware.
    """

    def __init__(self, engine: MockEngine, guard: CrossSiteGuard) -> None:
        self.engine = engine
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self.engine
        limit = engine.config.max_body_bytes
        length = authorization = content_type = host = None
        for name, value in scope["headers"]:  # the first of a repeated header, as Starlette (and the guard) read it
            if name == b"content-length":
                length = length if length is not None else value.decode("latin-1")
            elif name == b"authorization":
                authorization = authorization if authorization is not None else value.decode("latin-1")
            elif name == b"content-type":
                content_type = content_type if content_type is not None else value.decode("latin-1")
            elif name == b"host":
                host = host if host is not None else value.decode("latin-1")
        declared_size = int(length) if length is not None and length.isdigit() else None
        if declared_size is not None and declared_size > limit:
            body = b""  # the engine answers 413 from the declared size; the stream is never read
        elif (read := await _read_body(receive, limit)) is not None:
            body = read
        else:  # the client left mid-body: nobody to answer, nothing to log
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        reply = await engine.handle_rest(
            body, authorization=authorization, base_url=engine.config.public_base_url or _base_url(scope, host),
            declared_size=declared_size, content_type=content_type,
        )  # fmt: skip
        payload = protocol.encode(reply.body)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (reply.headers or {}).items()]
        headers += [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _base_url(scope: Scope, host: str | None) -> str:
    """The request's base URL, as Starlette's ``request.base_url`` gives it."""
    if host is None:
        return str(URL(scope=scope).replace(path=scope.get("root_path", "") + "/", query=""))
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}/"


class _MockApp(Starlette):
    """The mock's Starlette app, sending ``POST /v1`` straight to its endpoint once the guard lets it by."""

    rest: _RestEndpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == scope.get("root_path", "") + "/v1"
            and self.rest.guard.problem(scope) is None  # a refusal takes the long way, to the guard's answer
        ):
            scope["app"] = self
            try:
                await self.rest(scope, receive, send)
            except Exception:
                # as Starlette's ServerErrorMiddleware: a plain 500 if nothing was sent yet, then raise for the log
                await _server_error(send)
                raise
            return
        await super().__call__(scope, receive, send)


async def _server_error(send: Send) -> None:
    with contextlib.suppress(Exception):  # the answer may have begun: then the connection just closes
        headers = [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]  # as Starlette's
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})


def create_app(
    config: MockConfig | None = None, engine: MockEngine | None = None, *, extra_hosts: Iterable[str] = ()
) -> Starlette:
    """The mock's ASGI app, serving ``engine`` (a new one built from ``config`` when omitted).

    The app refuses other web pages (:mod:`ideogram_mock.guard`); ``extra_hosts`` are ``Host``
    names it answers besides loopback ones and the configured ones (the pytest plugin's
    intercepted API hosts, such as ``api.runware.ai``).
    """
    if engine is None:
        engine = MockEngine(config)
    elif config is not None:
        raise ValueError("pass either config or engine, not both")

    rest = _RestEndpoint(engine, CrossSiteGuard(_refused, config=lambda: engine.config, extra_hosts=extra_hosts))

    async def get_image(request: Request) -> Response:
        name = request.path_params["name"]
        found = await engine.image(name)
        if found is None:
            err = error_item("imageNotFound", f"No image {name}: unknown, or its ttl has passed.", value=name)
            return _envelope(protocol.rest_errors([err]), 404)
        data, content_type = found
        return Response(data, media_type=content_type, headers={"Cache-Control": "no-store"})

    async def list_requests(request: Request) -> Response:
        return dashboard.inspection_response(request, engine, engine.requests)

    async def list_tasks(request: Request) -> Response:
        return dashboard.inspection_response(request, engine, engine.tasks)

    async def get_task(request: Request) -> Response:
        run = engine.task(request.path_params["task_uuid"])
        if run is None:
            return _json({"error": "unknown task"}, 404)
        return _json(run.to_dict())

    async def list_deliveries(request: Request) -> Response:
        return dashboard.inspection_response(request, engine, engine.deliveries)

    async def reset(request: Request) -> Response:
        keep = request.query_params.get("keepConfig", "false").lower()
        if keep not in ("true", "false"):
            return _json({"error": f"keepConfig must be true or false, got {keep!r}"}, 400)
        engine.reset(keep_config=keep == "true")
        return _json({"reset": True, "config": engine.config.to_dict()})

    async def config_route(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            return dashboard.inspection_response(request, engine, engine.config.to_dict)
        limit = engine.config.max_body_bytes  # the same limits as /v1: size, depth, strict JSON
        body = await _read_body(request.receive, limit)
        if body is None:
            return Response(status_code=400)
        if len(body) > limit:
            return _json({"error": f"the body is over the limit of {limit} bytes"}, 413)
        try:
            changes = engine.parse(body) if body.strip() else {}
            config = engine.configure(changes)
        except JSONInputError as exc:
            return _json({"error": f"the body is not JSON the mock accepts: {exc}"}, 400)
        except (ValueError, ConfigError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(config.to_dict())

    async def openapi(request: Request) -> Response:
        return _json(openapi_document())

    hub = WebSocketHub(engine)
    routes = [
        Route("/v1", rest, methods=["POST"]),
        WebSocketRoute("/v1", hub.serve),
        Route("/images/{name}", get_image, methods=["GET"]),
        Route("/_mock/requests", list_requests, methods=["GET"]),
        Route("/_mock/tasks", list_tasks, methods=["GET"]),
        Route("/_mock/tasks/{task_uuid}", get_task, methods=["GET"]),
        Route("/_mock/deliveries", list_deliveries, methods=["GET"]),
        Route("/_mock/reset", reset, methods=["POST"]),
        Route("/_mock/config", config_route, methods=["GET", "PATCH", "POST"]),  # one route: a 405 lists all three
        Route("/openapi.json", openapi, methods=["GET"]),
        *dashboard.routes(engine),
    ]
    guard = Middleware(CrossSiteGuard, config=lambda: engine.config, extra_hosts=extra_hosts)
    app = _MockApp(routes=routes, exception_handlers={404: _no_route, 405: _no_route}, middleware=[guard])
    app.rest = rest
    app.state.engine = engine
    app.state.websockets = hub
    return app
