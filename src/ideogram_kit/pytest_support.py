"""What the pytest plugin's fixtures hand out: the in-process mock, the live server, the receiver.

:mod:`ideogram_kit.plugin` holds only hooks and fixtures and imports this module inside them,
so a test session that uses none of the fixtures never imports respx, Starlette or uvicorn.

- :class:`IdeogramMock` (fixture ``ideogram_mock``): the mock's Starlette app served **in
  process** through respx. A dedicated thread runs an event loop that owns the
  :class:`~ideogram_mock.engine.MockEngine` and all its background work (async tasks,
  webhooks, uploads); every intercepted httpx request, sync or async, is handed to that loop
  with :func:`asyncio.run_coroutine_threadsafe`. Webhooks and uploads go to an in-memory
  transport: recorded, optionally answered by a handler, never sent to the network.
- :class:`IdeogramServer` (fixture ``ideogram_server``): the same app on a real loopback port.
- :class:`WebhookReceiver` (fixture ``ideogram_webhook_receiver``): a loopback HTTP server
  that collects POST and PUT deliveries.
- :class:`IdeogramSettings`: the per-test settings (``ini`` keys, ``--ideogram-*`` options and
  the ``ideogram`` marker, merged).
- :func:`invalid_payload_report`: the text that fails a test that sent an invalid payload.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import http.server
import inspect
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import respx
from respx.models import AllMockedAssertionError, PassThrough, Route

from ideogram_mock import create_app
from ideogram_mock.config import MockConfig
from ideogram_mock.engine import REQUEST_FAULT_MESSAGES, CheckResult, MockEngine, Reply, TaskRun, error_item
from ideogram_mock.server import BackgroundServer

from .errors import TaskError

__all__ = [
    "DEFAULT_BASE_URL",
    "FAULT_CODES",
    "IdeogramMock",
    "IdeogramServer",
    "IdeogramSettings",
    "PluginEngine",
    "ReceivedDelivery",
    "WebhookReceiver",
    "invalid_payload_report",
]

T = TypeVar("T")

#: Runware's REST endpoint; ``ideogram_mock`` always intercepts it.
DEFAULT_BASE_URL = "https://api.runware.ai/v1"

#: Codes :meth:`IdeogramMock.fail_next` injects, and where: a task's failure, or the whole request's.
FAULT_CODES: Mapping[str, str] = {
    "providerError": "task",
    "timeoutProvider": "task",
    "rateLimitExceeded": "request",
    "rateLimited": "request",  # the kit's old name of rateLimitExceeded, still taken
    "invalidApiKey": "request",
    "insufficientCredits": "request",
    "forbidden": "request",
    "serviceUnavailable": "request",
    "queueTimeout": "request",
}
_RENAMED_FAULTS = {"rateLimited": "rateLimitExceeded"}
_INJECTED_RETRY_AFTER = 1.0
OPT_OUT = "@pytest.mark.ideogram(allow_invalid=True)"

ResultOverride = Mapping[str, Any] | Callable[[dict[str, Any], dict[str, Any]], Mapping[str, Any]]
WebhookHandler = Callable[[httpx.Request], "httpx.Response | int | Awaitable[httpx.Response | int | None] | None"]


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdeogramSettings:
    """Settings of one test's mock: from ini keys, ``--ideogram-*`` options, then the marker.

    Override the ``ideogram_settings`` fixture to change them in code (it may request the
    default one and return ``ideogram_settings.replace(...)``).
    """

    config: MockConfig = field(default_factory=lambda: MockConfig(port=0))
    base_urls: tuple[str, ...] = (DEFAULT_BASE_URL,)
    allow_invalid: bool = False
    fail_next: tuple[str, ...] = ()
    strict: bool = False

    def replace(self, **changes: Any) -> IdeogramSettings:
        """A copy with ``changes``; keys other than the fields above are MockConfig settings."""
        own = {f.name for f in dataclasses.fields(self)}
        mock = {k: v for k, v in changes.items() if k not in own}
        settings = dataclasses.replace(self, **{k: v for k, v in changes.items() if k in own})
        if mock:
            settings = dataclasses.replace(settings, config=MockConfig.from_mapping(mock, base=settings.config))
        for code in settings.fail_next:
            _fault_kind(code)
        return settings

    def with_marker(self, kwargs: Mapping[str, Any]) -> IdeogramSettings:
        """These settings changed by the keyword arguments of ``@pytest.mark.ideogram(...)``."""
        changes = dict(kwargs)
        if "base_url" in changes:
            extra = changes.pop("base_url")
            extra = (extra,) if isinstance(extra, str) else tuple(extra)
            changes["base_urls"] = self.base_urls + tuple(u for u in extra if u not in self.base_urls)
        if "latency" in changes:
            low, high = _latency_bounds(changes.pop("latency"))
            changes.update(latency_min=low, latency_max=high)
        if "fail_next" in changes:
            codes = changes["fail_next"]
            changes["fail_next"] = (codes,) if isinstance(codes, str) else tuple(codes)
        return self.replace(**changes)


def _latency_bounds(value: Any) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    low, high = value
    return float(low), float(high)


def _fault_kind(code: str) -> str:
    try:
        return FAULT_CODES[code]
    except KeyError:
        raise ValueError(f"fail_next: unknown code {code!r}; use one of {', '.join(FAULT_CODES)}") from None


# ---------------------------------------------------------------------------------------------
# The engine, with the plugin's knobs and its record of invalid payloads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvalidRequest:
    """One request that failed validation: the log id of the request and its errors."""

    request_id: int | None
    errors: tuple[TaskError, ...]


class PluginEngine(MockEngine):
    """The mock engine plus what a test needs: injected faults, custom results, a record of
    every invalid payload (``invalid``).

    ``in_process``: webhooks and uploads go to an in-memory transport, so any target URL is
    fine (the loopback-only rule protects the network, which is never touched here).
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        outbound_transport: httpx.AsyncBaseTransport | None = None,
        in_process: bool = False,
    ) -> None:
        super().__init__(config, outbound_transport=outbound_transport)
        self.in_process = in_process
        self.invalid: list[InvalidRequest] = []
        self.warned: list[InvalidRequest] = []  # requests whose tasks got warnings (accepted)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._task_faults: deque[str] = deque()
        self._request_faults: deque[str] = deque()
        self._overrides: deque[ResultOverride] = deque()
        self._override_all: ResultOverride | None = None
        self._run_overrides: dict[int, ResultOverride] = {}
        self._injected_429 = False
        self.strict = False

    # -- knobs ----------------------------------------------------------------------------------

    def fail_next(self, code: str, times: int = 1) -> None:
        queue = self._task_faults if _fault_kind(code) == "task" else self._request_faults
        queue.extend([_RENAMED_FAULTS.get(code, code)] * times)

    def respond_with(self, override: ResultOverride, times: int | None) -> None:
        if times is None:
            self._override_all = override
        else:
            self._overrides.extend([override] * times)

    def forget(self) -> None:
        """Drop the knobs and the record of invalid payloads (the state a test leaves behind)."""
        self.invalid = []
        self.warned = []
        self._task_faults.clear()
        self._request_faults.clear()
        self._overrides.clear()
        self._override_all = None
        self._run_overrides.clear()

    # -- engine hooks ---------------------------------------------------------------------------

    def _note_loop(self) -> None:
        if self.loop is None:
            with contextlib.suppress(RuntimeError):  # no loop: nothing to run on it yet
                self.loop = asyncio.get_running_loop()

    def on_task(self, run: TaskRun) -> None:
        self._note_loop()
        if self._task_faults:
            run.fate = dataclasses.replace(run.fate, failure=self._task_faults.popleft())
        if run.fate.failure is not None:
            return  # a failing task has no results: the override waits for the next one
        override = self._overrides.popleft() if self._overrides else self._override_all
        if override is not None:
            self._run_overrides[id(run)] = override

    def on_result(self, run: TaskRun, item: dict[str, Any]) -> dict[str, Any]:
        override = self._run_overrides.get(id(run))
        if override is None:
            return item
        if callable(override):
            return dict(override(dict(run.task), dict(item)))
        return {**item, **override}

    def admit(self) -> float | None:
        if self._request_faults and self._request_faults[0] == "rateLimitExceeded":
            self._request_faults.popleft()
            self._injected_429 = True
            return _INJECTED_RETRY_AFTER
        return super().admit()

    def authenticate(self, api_key: str | None) -> dict[str, Any] | None:
        if api_key and self._request_faults and self._request_faults[0] == "invalidApiKey":
            self._request_faults.popleft()
            return error_item(
                "invalidApiKey", "Invalid API key (injected by fail_next).", parameter="apiKey",
                task_type="authentication",
            )  # fmt: skip
        return super().authenticate(api_key)

    def request_fault(self) -> str | None:
        if self._request_faults and self._request_faults[0] in REQUEST_FAULT_MESSAGES:
            return self._request_faults.popleft()
        return super().request_fault()

    def check(self, tasks: list[Any]) -> CheckResult:
        self._note_loop()
        found = super().check(tasks)
        if self.in_process:
            for index in list(found):
                kept = [e for e in found[index] if e.code != "forbiddenOutboundTarget"]
                if kept:
                    found[index] = kept
                else:
                    del found[index]
        if found.warnings:
            log = self.requests()
            self.warned.append(InvalidRequest(log[-1]["id"] if log else None, found.warnings))
        if found or (self.strict and found.warnings):
            log = self.requests()
            errors = tuple(e for index in sorted(found) for e in found[index])
            if self.strict:
                errors += found.warnings
            self.invalid.append(InvalidRequest(log[-1]["id"] if log else None, errors))
        return found

    async def handle_rest(self, body: bytes, **transport: Any) -> Reply:
        self._note_loop()
        reply = await super().handle_rest(body, **transport)  # the transport's keywords, whatever the engine takes
        injected_429, self._injected_429 = self._injected_429, False
        for item in reply.body.get("errors", []):
            if item["code"] in ("invalidRequestBody", "unsupportedMediaType"):  # the request, not a task, is wrong
                log = self.requests()
                error = TaskError(code=item["code"], message=item["message"], hint=item.get("hint"))
                self.invalid.append(InvalidRequest(log[-1]["id"] if log else None, (error,)))
            elif item["code"] == "rateLimitExceeded" and injected_429:
                item["message"] = "Too many requests (injected by fail_next)."  # the log holds this same dict
        return reply


def invalid_payload_report(invalid: Sequence[InvalidRequest], who: str = "ideogram_mock") -> str:
    """The failure text for a test whose application sent invalid payloads."""
    count = sum(1 for r in invalid for e in r.errors if not e.is_warning)
    warned = sum(1 for r in invalid for e in r.errors if e.is_warning)
    if not warned:
        head = (
            f"{who} received {len(invalid)} invalid request{'s' if len(invalid) != 1 else ''} "
            f"({count} validation error{'s' if count != 1 else ''}); the mock answered with Runware's errors:"
        )
    else:  # strict: warnings of accepted tasks count as failures too
        parts = [f"{count} validation error{'s' if count != 1 else ''}"] if count else []
        parts.append(f"{warned} warning{'s' if warned != 1 else ''} under strict")
        head = (
            f"{who} received {len(invalid)} request{'s' if len(invalid) != 1 else ''} that fail this strict "
            f"test ({', '.join(parts)}); Runware accepts warned tasks, the mock answered them as it would:"
        )
    lines = [head]
    for request in invalid:
        by_task: dict[tuple[int | None, str | None], list[TaskError]] = {}
        for error in request.errors:
            by_task.setdefault((error.task_index, error.task_uuid), []).append(error)
        head = f"request {request.request_id}" if request.request_id is not None else "a request"
        for (index, uuid), errors in by_task.items():
            where = head if index is None else f"{head}, task {index}" + (f" ({uuid})" if uuid else "")
            lines.append(f"  {where}:")
            lines.extend(f"    {error}" + (f" (hint: {error.hint})" if error.hint else "") for error in errors)
    lines.append(f"Fix the payload, or mark a test that sends invalid payloads on purpose: {OPT_OUT}")
    if any(e.is_warning for request in invalid for e in request.errors):
        lines.append("Warnings fail this test because it runs strict (strict=True or the ini key ideogram_strict).")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Inspection and knobs shared by the in-process mock and the live server
# ---------------------------------------------------------------------------------------------


class _MockControls:
    """What a test reads and turns, for both fixtures."""

    engine: PluginEngine
    allow_invalid: bool

    def _read(self, name: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Received requests, oldest first: ``body`` (parsed), ``tasks`` (validation), ``status``, ``response``."""
        return list(self._read("requests"))

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every task object the application sent (parsed JSON), in order, across all requests."""
        found: list[dict[str, Any]] = []
        for request in self.requests:
            body = request.get("body")
            if isinstance(body, list):
                found.extend(task for task in body if isinstance(task, dict))
        return found

    @property
    def image_tasks(self) -> list[dict[str, Any]]:
        """The ``imageInference`` tasks the application sent (valid or not), in order."""
        return [task for task in self.tasks if task.get("taskType") == "imageInference"]

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The mock's view of each accepted ``imageInference`` task: status, results, error."""
        return list(self._read("tasks"))

    @property
    def results(self) -> list[dict[str, Any]]:
        """Every result item the mock produced (sync answers, polls and webhooks share them)."""
        return [item for run in self.runs for item in run["results"]]

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST and upload PUT attempt, with its outcome."""
        return list(self._read("deliveries"))

    @property
    def invalid(self) -> list[TaskError]:
        """Every validation error the mock answered during this test (and, when strict, every warning)."""
        return [error for request in self.engine.invalid for error in request.errors]

    @property
    def warnings(self) -> list[TaskError]:
        """Every warning of an accepted task during this test: a deprecated parameter (``checkNSFW``), one
        without effect (``ttl`` with base64 output), a value only Runware's general reference lists.
        ``@pytest.mark.ideogram(strict=True)`` (or the ini key ``ideogram_strict``) fails the test on them."""
        return [warning for request in self.engine.warned for warning in request.errors]

    def fail_next(self, code: str = "providerError", times: int = 1) -> None:
        """Make the next ``times`` tasks fail (``providerError`` 500, ``timeoutProvider`` 504) or
        requests be refused (``insufficientCredits`` 402, ``forbidden`` 403, ``rateLimitExceeded`` 429
        with Retry-After, ``serviceUnavailable`` 503, ``queueTimeout`` 504, ``invalidApiKey`` 401)."""
        self.engine.fail_next(code, times)

    def respond_with(self, result: ResultOverride, *, times: int | None = 1) -> None:
        """Change the result items of the next ``times`` tasks (``None``: every task from now on).

        ``result`` is a mapping merged into each item (``{"NSFWContent": True}``) or a function
        ``(task, item) -> item``.
        """
        self.engine.respond_with(result, times)

    def set_latency(self, minimum: float, maximum: float | None = None) -> None:
        """Each task takes ``minimum`` seconds (or a seeded draw up to ``maximum``)."""
        self.configure(latency_min=minimum, latency_max=minimum if maximum is None else maximum)

    def set_seed(self, seed: int) -> None:
        """Seed images, result seeds and the fault plan."""
        self.configure(seed=seed)

    def configure(self, **settings: Any) -> MockConfig:  # pragma: no cover - overridden
        raise NotImplementedError

    def _report(self, start: int = 0) -> str | None:
        """The failure text when invalid payloads arrived (after the first ``start``) and the
        test did not allow them."""
        new = self.engine.invalid[start:]
        if self.allow_invalid or not new:
            return None
        return invalid_payload_report(new, self._fixture)

    _fixture = "ideogram_mock"


# ---------------------------------------------------------------------------------------------
# ideogram_mock: in process, through respx
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Base:
    """One intercepted API base: scheme, host, port and path prefix (the app's ``root_path``)."""

    url: str
    scheme: str
    host: str
    port: int | None
    prefix: str

    def owns(self, url: httpx.URL) -> bool:
        return (
            url.host == self.host
            and url.scheme == self.scheme
            and url.port == self.port
            and (not self.prefix or url.path == self.prefix or url.path.startswith(self.prefix + "/"))
        )


class _LoopThread:
    """An event loop running forever in a daemon thread; the engine lives on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="ideogram-mock-engine", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Awaitable[T], *, blocking: bool = False) -> concurrent.futures.Future[T]:
        if blocking and threading.current_thread() is self.thread:
            raise RuntimeError("a blocking call into ideogram_mock from its own event loop would deadlock")
        return asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self.loop)

    def run(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        return self.submit(coro, blocking=True).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return fn() if threading.current_thread() is self.thread else self.run(call())

    def close(self) -> None:
        async def finish() -> None:
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        self.run(finish(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Router(respx.MockRouter):
    """A respx router that hands requests for the mock's bases to :class:`IdeogramMock`.

    respx calls ``handler`` for sync clients and ``async_handler`` for async ones. A request
    for another host is left to the other respx routers when there are any, and otherwise
    passes through untouched: the mock only takes over Runware's API.
    """

    def __init__(self, mock: IdeogramMock) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpcore")
        self._mock = mock
        self._origin = Route()

    def _decline(self, request: httpx.Request) -> None:
        others = [r for r in (self.Mocker.routers if self.Mocker else []) if r is not self]
        if others:
            raise AllMockedAssertionError(f"RESPX: {request!r} not mocked!")
        raise PassThrough(f"not a Runware request: {request!r}", request=request, origin=self._origin)

    def handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock._base_for(request.url)
        if base is None:
            self._decline(request)
        assert base is not None
        response = self._mock._send(request, base)
        self.record(request, response=response)
        return response

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock._base_for(request.url)
        if base is None:
            self._decline(request)
        assert base is not None
        response = await self._mock._asend(request, base)
        self.record(request, response=response)
        return response


class IdeogramMock(_MockControls):
    """The mock endpoint in process: httpx calls to its base URLs are answered by the mock's app.

    ``base_url`` is what the application should call (``https://api.runware.ai/v1`` unless
    configured); image URLs in results are served too. Use it as a context manager or call
    :meth:`start` and :meth:`stop`.
    """

    _fixture = "ideogram_mock"

    def __init__(self, settings: IdeogramSettings | None = None) -> None:
        settings = settings or IdeogramSettings()
        self.settings = settings
        self.allow_invalid = settings.allow_invalid
        self._outbound: list[httpx.Request] = []
        self._webhook_handler: WebhookHandler | None = None
        self.engine = PluginEngine(
            settings.config, outbound_transport=httpx.MockTransport(self._deliver), in_process=True
        )
        for code in settings.fail_next:
            self.engine.fail_next(code)
        self.engine.strict = settings.strict
        self._bases = [self._make_base(url) for url in dict.fromkeys(settings.base_urls)]
        self.app = create_app(engine=self.engine, extra_hosts=[base.host for base in self._bases])
        self._router = _Router(self)
        self._loop: _LoopThread | None = None

    @property
    def base_url(self) -> str:
        """The first base URL (Runware's ``https://api.runware.ai/v1`` by default)."""
        return self._bases[0].url

    @property
    def base_urls(self) -> list[str]:
        return [base.url for base in self._bases]

    @property
    def router(self) -> respx.MockRouter:
        """The respx router in use (``router.calls`` lists every intercepted call)."""
        return self._router

    def _make_base(self, url: str) -> _Base:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"base URL {url!r} must be an absolute http(s) URL such as {DEFAULT_BASE_URL}")
        path = parsed.path.rstrip("/")
        prefix = path[: -len("/v1")] if path.endswith("/v1") else path
        return _Base(str(parsed.copy_with(query=None, fragment=None)), parsed.scheme, parsed.host, parsed.port, prefix)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> IdeogramMock:
        self._loop = _LoopThread()
        self._router.start()
        return self

    def stop(self) -> None:
        """Stop intercepting; cancel the mock's background work; stop its thread."""
        self._router.stop(quiet=True)
        loop, self._loop = self._loop, None
        if loop is not None:
            try:
                loop.run(self.engine.aclose(grace=0), timeout=10)
            finally:
                loop.close()

    def __enter__(self) -> IdeogramMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread(self) -> _LoopThread:
        if self._loop is None:
            raise RuntimeError("the ideogram mock is not started")
        return self._loop

    # -- requests -----------------------------------------------------------------------------

    def _base_for(self, url: httpx.URL) -> _Base | None:
        for base in self._bases:
            if base.owns(url):
                return base
        return None

    async def _answer(self, request: httpx.Request, base: _Base) -> httpx.Response:
        """``request`` through the mock's ASGI app (as ``httpx.ASGITransport`` would, minus its
        per-call overhead: the body is already read and the answer is buffered)."""
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": base.prefix,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": ("127.0.0.1", 123),
        }
        body = [{"type": "http.request", "body": request.content, "more_body": False}]
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return body.pop() if body else {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await self.app(scope, receive, send)
        content = b"" if request.method == "HEAD" else b"".join(parts)
        return httpx.Response(start["status"], headers=start.get("headers", []), content=content)

    @staticmethod
    def _timeout(request: httpx.Request) -> float | None:
        timeout = request.extensions.get("timeout", {})
        read = timeout.get("read") if isinstance(timeout, dict) else None
        return read if isinstance(read, (int, float)) else None

    def _send(self, request: httpx.Request, base: _Base) -> httpx.Response:
        timeout = self._timeout(request)
        future = self._thread().submit(self._answer(request, base), blocking=True)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout(f"the mock did not answer within {timeout} s", request=request) from None

    async def _asend(self, request: httpx.Request, base: _Base) -> httpx.Response:
        timeout = self._timeout(request)
        future = asyncio.wrap_future(self._thread().submit(self._answer(request, base)))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise httpx.ReadTimeout(f"the mock did not answer within {timeout} s", request=request) from None

    # -- webhooks and uploads -------------------------------------------------------------------

    async def _deliver(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._outbound.append(request)
        handler = self._webhook_handler
        answer: httpx.Response | int | None = None
        if handler is not None:
            result = handler(request)
            answer = await result if inspect.isawaitable(result) else result
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200 if answer is None else answer)

    def on_webhook(self, handler: WebhookHandler | None) -> None:
        """Answer webhook POSTs and upload PUTs with ``handler(request)``: an ``httpx.Response``, a
        status code, or None for 200 (sync or async; it runs on the mock's event loop)."""
        self._webhook_handler = handler

    @property
    def outbound(self) -> list[httpx.Request]:
        """Every webhook POST and upload PUT the mock sent (``request.content`` is read)."""
        return self._thread().call(lambda: list(self._outbound))

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """The JSON bodies of the webhook POSTs, in order (retries included)."""
        return [json.loads(r.content) for r in self.outbound if r.method == "POST"]

    # -- state ----------------------------------------------------------------------------------

    def _read(self, name: str) -> Any:
        method: Callable[[], Any] = getattr(self.engine, name)
        return self._thread().call(method)

    def configure(self, **settings: Any) -> MockConfig:
        """Change MockConfig settings for the rest of the test (``failure_rate=0.5``, ``seed=7``)."""
        return self._thread().call(lambda: self.engine.configure(settings))

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every background task, webhook and upload has finished."""
        if not self._thread().run(self.engine.drain(timeout)):
            raise TimeoutError(f"the mock still had {self.engine.pending} background tasks after {timeout} s")

    def reset(self) -> None:
        """Forget tasks, images, logs, deliveries, knobs and recorded invalid payloads."""

        def reset() -> None:
            self.engine.reset()
            self.engine.forget()
            self._outbound.clear()

        self._thread().call(reset)


# ---------------------------------------------------------------------------------------------
# ideogram_server: the same app on a loopback port
# ---------------------------------------------------------------------------------------------


class IdeogramServer(_MockControls):
    """The mock on ``127.0.0.1:PORT`` for code that does not use httpx (or uses WebSockets).

    ``url`` is ``http://127.0.0.1:PORT``, ``base_url`` its ``/v1`` endpoint, ``ws_url`` the
    WebSocket endpoint ``ws://127.0.0.1:PORT/v1``.
    """

    _fixture = "ideogram_server"

    def __init__(self, config: MockConfig) -> None:
        self.engine = PluginEngine(config)
        self.allow_invalid = False
        self._server = BackgroundServer(config, engine=self.engine)

    def start(self) -> IdeogramServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/v1"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def _read(self, name: str) -> Any:
        return self._call("GET", f"/_mock/{name}")

    def configure(self, **settings: Any) -> MockConfig:
        """Change MockConfig settings for the rest of the test (``PATCH /_mock/config``)."""
        try:
            return MockConfig.from_mapping(self._call("PATCH", "/_mock/config", settings))
        except urllib.error.HTTPError as exc:
            raise ValueError(json.loads(exc.read())["error"]) from None

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every background task, webhook and upload has finished."""
        loop = self.engine.loop
        if loop is None:  # no task ever ran, so nothing can be pending
            return
        future = asyncio.run_coroutine_threadsafe(self.engine.drain(timeout), loop)
        if not future.result(timeout + 5):
            raise TimeoutError(f"the mock still had background tasks after {timeout} s")

    def reset(self) -> None:
        """Forget tasks, images, logs, deliveries, knobs and recorded invalid payloads."""
        self._call("POST", "/_mock/reset")
        self.engine.forget()

    def prepare(self, settings: IdeogramSettings) -> IdeogramServer:
        """Reset for a new test and apply its settings."""
        self.reset()
        config = {k: v for k, v in settings.config.to_dict().items() if k not in ("host", "port")}
        self._call("PATCH", "/_mock/config", config)
        self.allow_invalid = settings.allow_invalid
        self.engine.strict = settings.strict
        for code in settings.fail_next:
            self.engine.fail_next(code)
        return self


# ---------------------------------------------------------------------------------------------
# ideogram_webhook_receiver
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedDelivery:
    """One POST or PUT the receiver got."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on ``127.0.0.1`` collecting webhook POSTs and upload PUTs.

    ``url`` is its base (``http://127.0.0.1:PORT``); any path works. ``fail_next(n)`` makes
    the next ``n`` deliveries get ``status`` (500) to exercise retries; ``wait_for(n)`` blocks
    until ``n`` deliveries were accepted.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._received: list[ReceivedDelivery] = []
        self._failures: deque[int] = deque()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _collect(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver._failures.popleft() if receiver._failures else 200
                    parts = urllib.parse.urlsplit(self.path)
                    query = urllib.parse.parse_qs(parts.query)
                    delivery = ReceivedDelivery(self.command, parts.path, query, dict(self.headers), body, status)
                    receiver._received.append(delivery)
                    receiver._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _collect
            do_PUT = _collect

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="ideogram-webhook-receiver", daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def url_for(self, path: str) -> str:
        return self.url + "/" + path.lstrip("/")

    def fail_next(self, times: int = 1, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    @property
    def received(self) -> list[ReceivedDelivery]:
        """Every POST and PUT, failed ones included."""
        with self._lock:
            return list(self._received)

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        """The accepted (2xx) POSTs and PUTs."""
        return [d for d in self.received if 200 <= d.status < 300]

    @property
    def webhooks(self) -> list[Any]:
        """The JSON bodies of the accepted webhook POSTs."""
        return [d.json() for d in self.deliveries if d.method == "POST"]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedDelivery]:
        """Block until ``count`` deliveries were accepted; returns them (raises TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while sum(1 for d in self._received if 200 <= d.status < 300) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = sum(1 for d in self._received if 200 <= d.status < 300)
                    raise TimeoutError(f"{got} of {count} deliveries arrived within {timeout} s")
                self._lock.wait(remaining)
        return self.deliveries

    def __iter__(self) -> Iterator[ReceivedDelivery]:
        return iter(self.deliveries)
