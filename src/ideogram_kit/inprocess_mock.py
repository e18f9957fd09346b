"""The ``ideogram_mock`` fixture's object: :class:`IdeogramMock`, the mock's app served in process
to httpx (through respx), requests (through ``responses``) and aiohttp (through ``aioresponses``).
A dedicated thread runs an event loop that owns the engine and all its background work; every
intercepted request, whatever the client, becomes an ``httpx.Request`` handed to that loop and
answered by the same ASGI app. Webhooks and uploads go to an in-memory transport: recorded,
optionally answered by a handler, never sent.

One module per client turns its requests into the engine's and back:
:mod:`~ideogram_kit.intercept_httpx`, :mod:`~ideogram_kit.intercept_requests`,
:mod:`~ideogram_kit.intercept_aiohttp`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ideogram_mock import create_app
from ideogram_mock.config import MockConfig

from .intercept_aiohttp import AiohttpInterceptor
from .intercept_httpx import HttpxRouter
from .intercept_requests import RequestsInterceptor
from .plugin_engine import DEFAULT_BASE_URL, IdeogramSettings, PluginEngine, T, WebhookHandler, _MockControls

if TYPE_CHECKING:
    import responses
    import respx
    from aioresponses import aioresponses

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

    def pattern(self) -> str:
        """A regular expression matching exactly the URLs :meth:`owns` (for responses and aioresponses)."""
        default = 443 if self.scheme == "https" else 80
        port = f"(?::{default})?" if self.port is None else f":{self.port}"  # httpx drops a default port
        return f"{re.escape(self.scheme)}://{re.escape(self.host)}{port}{re.escape(self.prefix)}(?:[/?#].*)?$"


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


class IdeogramMock(_MockControls):
    """The mock endpoint in process: httpx, requests and aiohttp calls to its base URLs are
    answered by the mock's app, the same way whatever the client.

    ``base_url`` is what the application should call (``https://api.runware.ai/v1`` unless
    configured); image URLs in results are served too. Calls to other hosts go on as they would
    without the mock (see :attr:`router`, :attr:`responses`, :attr:`aioresponses` to mock them
    too). Use it as a context manager or call :meth:`start` and :meth:`stop`.
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
        self._router = HttpxRouter(self)
        self._requests = RequestsInterceptor(self, self._bases)
        self._aiohttp = AiohttpInterceptor(self, self._bases)
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
        """The respx router in use (``router.calls`` lists every intercepted httpx call)."""
        return self._router

    @property
    def responses(self) -> responses.RequestsMock:
        """The ``responses`` mock answering requests (add routes for other hosts to it)."""
        if self._requests.mock is None:
            raise RuntimeError("the ideogram mock is not started")
        return self._requests.mock

    @property
    def aioresponses(self) -> aioresponses:
        """The ``aioresponses`` mock answering aiohttp (add routes for other hosts to it)."""
        if self._aiohttp.mock is None:
            raise RuntimeError("the ideogram mock is not started")
        return self._aiohttp.mock

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
        self._requests.start()
        self._aiohttp.start()
        return self

    def stop(self) -> None:
        """Stop intercepting; cancel the mock's background work; stop its thread."""
        self._aiohttp.stop()
        self._requests.stop()
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

    def base_for(self, url: httpx.URL) -> _Base | None:
        """The intercepted base that ``url`` belongs to, or None."""
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

    def answer(self, request: httpx.Request, base: _Base, timeout: float | None) -> httpx.Response:
        """The mock's answer to ``request``, from any thread but the mock's (TimeoutError past ``timeout``)."""
        future = self._thread().submit(self._answer(request, base), blocking=True)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the mock did not answer within {timeout} s") from None

    async def aanswer(self, request: httpx.Request, base: _Base, timeout: float | None) -> httpx.Response:
        """The mock's answer to ``request``, awaited on the caller's event loop (TimeoutError past ``timeout``)."""
        future = asyncio.wrap_future(self._thread().submit(self._answer(request, base)))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the mock did not answer within {timeout} s") from None

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

    def reset(self, *, keep_config: bool = False) -> None:
        """Forget everything: tasks, images, the request and delivery logs, the webhooks sent, the
        knobs (``fail_next``, ``respond_with``) and the recorded invalid payloads; running tasks and
        pending deliveries are cancelled. The settings go back to the ones this mock started with
        (the test's: ini keys, options and marker), undoing ``configure()``, ``set_latency()`` and
        the like, unless ``keep_config`` is true (``MockEngine.reset(keep_config=...)``)."""

        def reset() -> None:
            self.engine.reset(keep_config=keep_config)
            self.engine.forget()
            self._outbound.clear()

        self._thread().call(reset)
