"""The REST protocol: one ``POST /v1`` body in, a :class:`~ideogram_mock.records.Reply` out.

:func:`handle_rest` is the whole of it, in the order a request is checked: the body's size, the
rate limit and request faults, JSON and its content type, the number of tasks, the API key (the
``Authorization`` header or an authentication task), validation, the images asked for; then each
task is dispatched (ping, getResponse, getTaskDetails, imageInference sync or acknowledged) and the
answers are merged into one envelope with its status. Every answer is logged
(:meth:`MockEngine.log_request <ideogram_mock.engine.MockEngine.log_request>`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ideogram_kit import schemas
from ideogram_kit.errors import TaskError
from ideogram_kit.payloads import JSONInputError

from . import protocol
from .records import INJECTED_CODES, INLINE_LOG_LIMIT, Reply, check_report, error_item, for_log, redacted
from .tasks import TaskRun, acknowledged_at_once

if TYPE_CHECKING:
    from .engine import MockEngine

__all__ = ["handle_rest"]


def _is_json(content_type: str) -> bool:
    """True for ``application/json`` and ``+json`` media types (any parameters), and for an empty header."""
    media_type = content_type.partition(";")[0].strip().lower()
    return not media_type or media_type == "application/json" or (media_type.endswith("+json") and "/" in media_type)


async def handle_rest(
    engine: MockEngine,
    body: bytes,
    *,
    authorization: str | None,
    base_url: str,
    declared_size: int | None = None,
    content_type: str | None = None,
) -> Reply:
    """Answer one ``POST /v1`` with ``engine``: ``body`` as received, the Authorization header, the
    request's base URL (see :meth:`MockEngine.handle_rest <ideogram_mock.engine.MockEngine.handle_rest>`)."""
    entry = engine.log_request("rest", declared_size if declared_size is not None else len(body))
    reply = await _answer(engine, body, authorization, base_url, entry, declared_size, content_type)
    entry["status"] = reply.status
    entry["response"] = for_log(reply.body) if len(body) <= INLINE_LOG_LIMIT else {"omitted": "large request"}
    engine.logged(entry)
    return reply


async def _answer(
    engine: MockEngine,
    body: bytes,
    authorization: str | None,
    base_url: str,
    entry: dict[str, Any],
    declared_size: int | None,
    content_type: str | None,
) -> Reply:
    limit = engine.config.max_body_bytes
    if declared_size is not None and declared_size > limit:
        err = error_item("payloadTooLarge", f"The body is {declared_size} bytes; the limit is {limit}.", max=limit)
        return Reply(413, protocol.rest_errors([err]))
    if len(body) > limit:  # a body without Content-Length, read until it passed the limit
        err = error_item("payloadTooLarge", f"The body is over the limit of {limit} bytes.", max=limit)
        return Reply(413, protocol.rest_errors([err]))
    retry_after = engine.admit()
    if retry_after is not None:
        seconds, err = engine.rate_limit_error(retry_after)
        return Reply(429, protocol.rest_errors([err]), {"Retry-After": str(seconds)})
    if (fault := engine.request_fault()) is not None:
        status, err = engine.request_fault_error(fault)
        headers = {"Retry-After": "1"} if status == 429 else {}  # as every 429 of the mock
        return Reply(status, protocol.rest_errors([err]), headers)
    parse_error: JSONInputError | None = None
    try:
        tasks = engine.parse(body)
    except JSONInputError as exc:
        tasks, parse_error = None, exc
    else:
        entry["body"] = redacted(tasks) if len(body) <= INLINE_LOG_LIMIT else "omitted (large body)"
    wrong_type = content_type is not None and engine.config.require_json_content_type and not _is_json(content_type)
    if parse_error is not None or wrong_type:
        # no tasks to read an authentication task from: a header key is checked first, as for any request
        api_key = _bearer(authorization)
        if api_key is not None and (key_error := engine.authenticate(api_key)) is not None:
            return Reply(401, protocol.rest_errors([key_error]))
        if content_type is not None and wrong_type:
            entry["contentType"] = content_type
            err = error_item(
                "unsupportedMediaType",
                f"The body is declared as {content_type[:100]!r}; POST /v1 takes application/json.",
                hint="send the header Content-Type: application/json (curl: -H 'Content-Type: application/json')",
                value=content_type[:100],
            )
            return Reply(415, protocol.rest_errors([err]))
        return Reply(
            400, protocol.rest_errors([error_item("invalidRequestBody", f"The body is not JSON: {parse_error}")])
        )
    if not isinstance(tasks, list) or not tasks:
        message = "The body must be a non-empty JSON array of task objects."
        hint = 'wrap the task in a list: [{"taskType": "imageInference", ...}]'
        return Reply(400, protocol.rest_errors([error_item("invalidRequestBody", message, hint=hint)]))
    if (too_many := engine.too_many_tasks(tasks)) is not None:
        return Reply(413, protocol.rest_errors([too_many]))
    api_key = _bearer(authorization)
    if api_key is None:
        auth_task = next((t for t in tasks if isinstance(t, dict) and t.get("taskType") == "authentication"), None)
        if auth_task is not None:
            key = auth_task.get("apiKey")
            api_key = key if isinstance(key, str) else ""
    auth_error = engine.authenticate(api_key)
    if auth_error is not None:
        return Reply(401, protocol.rest_errors([auth_error]))
    found = engine.check(tasks)
    entry["tasks"] = check_report(tasks, found)
    if (too_many := engine.too_many_images(tasks, found)) is not None:
        return Reply(413, protocol.rest_errors([too_many]))
    return await _dispatch(engine, tasks, found, base_url)


async def _dispatch(engine: MockEngine, tasks: list[Any], found: dict[int, list[TaskError]], base_url: str) -> Reply:
    data: list[list[dict[str, Any]]] = [[] for _ in tasks]
    errors: list[list[dict[str, Any]]] = [[] for _ in tasks]
    ran = False
    inline: list[tuple[int, Awaitable[TaskRun]]] = []
    for index, task in enumerate(tasks):
        if index in found:
            errors[index] = [e.to_dict() for e in found[index]]
            continue
        kind = task["taskType"]
        if kind == "authentication":
            ran = True
        elif kind == "ping":
            data[index] = [{"taskType": "ping", "pong": True}]
            ran = True
        elif kind in ("getResponse", "getTaskDetails"):
            answer = engine.get_response if kind == "getResponse" else engine.task_details
            data[index], errors[index] = answer(task["taskUUID"])
            ran = ran or bool(data[index]) or not any(e["code"] == "taskNotFound" for e in errors[index])
        elif acknowledged_at_once(task):
            engine.submit(task, base_url=base_url, request=tasks)
            data[index] = [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]
            ran = True
        else:
            inline.append((index, engine.run(task, base_url=base_url, request=tasks)))
    if inline:
        # one task (the common case) is awaited as it is: gather would wrap it in a Task of its own
        runs = [await inline[0][1]] if len(inline) == 1 else await asyncio.gather(*(coro for _, coro in inline))
        for (index, _), run in zip(inline, runs, strict=True):
            data[index] = list(run.results)
            if run.error is not None:
                errors[index] = [run.error]
            ran = ran or bool(run.results)
    flat_data = [item for items in data for item in items]
    flat_errors = [item for items in errors for item in items]
    status = 200
    if not ran:
        codes = schemas.error_codes()
        injected = [e["code"] for e in flat_errors if e["code"] in INJECTED_CODES]  # only these give a 5xx
        status = codes[injected[0]].http_status if injected else (engine.fidelity_status(flat_errors[0]["code"]) or 400)
    body: dict[str, Any] = {"data": flat_data}  # REST error bodies carry "data": [] too
    if flat_errors:
        body["errors"] = flat_errors
    return Reply(status, body)


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
