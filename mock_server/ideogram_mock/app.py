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

import json
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

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


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, read until it ends or passes ``limit`` bytes (then longer than ``limit``: the rest is
    not read); None when the client left mid-body."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    except ClientDisconnect:
        return None
    return b"".join(chunks)


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

    def base_url(request: Request) -> str:
        return engine.config.public_base_url or str(request.base_url)

    async def post_v1(request: Request) -> Response:
        limit = engine.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        declared_size = int(declared) if declared.isdigit() else None
        if declared_size is not None and declared_size > limit:
            body = b""  # the engine answers 413 from the declared size; the stream is never read
        elif (read := await _read_body(request, limit)) is not None:
            body = read
        else:  # the client left mid-body: nobody to answer, nothing to log
            return Response(status_code=400)
        reply = await engine.handle_rest(
            body, authorization=request.headers.get("authorization"), base_url=base_url(request),
            declared_size=declared_size, content_type=request.headers.get("content-type"),
        )  # fmt: skip
        return _envelope(reply.body, reply.status, reply.headers)

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
        body = await _read_body(request, limit)
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
        Route("/v1", post_v1, methods=["POST"]),
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
    app = Starlette(routes=routes, exception_handlers={404: _no_route, 405: _no_route}, middleware=[guard])
    app.state.engine = engine
    app.state.websockets = hub
    return app
