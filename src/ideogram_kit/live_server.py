"""The ``ideogram_server`` fixture's object: :class:`IdeogramServer`, the same app on a loopback
port (one per session, reset for each test), for other HTTP clients, the official SDKs and WebSockets.

Its webhooks and uploads go out through :class:`_NotingTransport`, which notes each attempt it
sends (``X-Delivery-ID``, ``X-Delivery-Attempt``). A receiver answers an attempt before the mock
reads the answer and logs the attempt, so a test that saw the receiver's side could read the
mock's log a moment too early; :meth:`IdeogramServer.settle` closes that gap: it waits until
every attempt a watched receiver recorded, and this mock sent, is in the log.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ideogram_mock.config import MockConfig
from ideogram_mock.delivery import ATTEMPT_HEADER, DELIVERY_ID_HEADER
from ideogram_mock.server import BackgroundServer

from .plugin_engine import IdeogramSettings, PluginEngine, _MockControls

if TYPE_CHECKING:
    from .webhook_receiver import ReceivedDelivery, WebhookReceiver

_SETTLE_TIMEOUT = 10.0


def _attempt_key(headers: httpx.Headers) -> tuple[str, int] | None:
    delivery_id, attempt = headers.get(DELIVERY_ID_HEADER), headers.get(ATTEMPT_HEADER)
    if delivery_id is None or attempt is None or not attempt.isdigit():
        return None
    return delivery_id, int(attempt)


class _NotingTransport(httpx.AsyncBaseTransport):
    """The live mock's outbound transport: httpx's own, noting the ``(deliveryId, attempt)`` of each request."""

    def __init__(self) -> None:
        # the pool the mock's Deliverer gives its own client (a client's limits do not reach a given transport)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
        self._inner = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        self._lock = threading.Lock()
        self._sent: set[tuple[str, int]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = _attempt_key(request.headers)
        if key is not None:
            with self._lock:
                self._sent.add(key)
        return await self._inner.handle_async_request(request)

    def sent(self, keys: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        """The ``keys`` this transport sent."""
        with self._lock:
            return {key for key in keys if key in self._sent}

    def forget(self) -> None:
        with self._lock:
            self._sent.clear()

    async def aclose(self) -> None:
        await self._inner.aclose()


# ---------------------------------------------------------------------------------------------
# ideogram_server: the same app on a loopback port
# ---------------------------------------------------------------------------------------------


class IdeogramServer(_MockControls):
    """The mock on ``127.0.0.1:PORT`` for what ``ideogram_mock`` cannot answer in process: WebSockets,
    other HTTP clients (urllib, ...), other languages and processes.

    ``url`` is ``http://127.0.0.1:PORT``, ``base_url`` its ``/v1`` endpoint, ``ws_url`` the
    WebSocket endpoint ``ws://127.0.0.1:PORT/v1``.
    """

    _fixture = "ideogram_server"

    def __init__(self, config: MockConfig) -> None:
        self._outbound = _NotingTransport()
        self.engine = PluginEngine(config, outbound_transport=self._outbound)
        self.allow_invalid = False
        self._server = BackgroundServer(config, engine=self.engine)
        self._receivers: list[WebhookReceiver] = []

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
        if name == "deliveries":
            self.settle([attempt for receiver in self._receivers for attempt in receiver.attempts])
        return self._call("GET", f"/_mock/{name}")

    # -- receivers ------------------------------------------------------------------------------

    def watch(self, receiver: WebhookReceiver) -> None:
        """Keep :attr:`deliveries` and ``receiver.wait_for`` in step: once the receiver has an
        attempt from this mock, the mock's delivery log shows it (the plugin does this when a test
        uses both ``ideogram_server`` and ``ideogram_webhook_receiver``)."""
        self._receivers.append(receiver)
        receiver.settle_with(self.settle)

    def unwatch(self, receiver: WebhookReceiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def settle(self, attempts: Sequence[ReceivedDelivery], timeout: float = _SETTLE_TIMEOUT) -> None:
        """Wait until the delivery log holds each of ``attempts`` that this mock sent (a receiver
        records an attempt before its answer reaches the mock, which logs the attempt after)."""
        keys = self._outbound.sent(key for key in (_attempt_key(a.headers) for a in attempts) if key is not None)
        loop = self.engine.loop
        if not keys or loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.engine.attempts_logged(keys, timeout), loop)
        future.result(timeout + 5)  # False (not all logged in time: a reset forgot them) is fine

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

    def reset(self, *, keep_config: bool = False) -> None:
        """Forget everything: tasks, images, the request and delivery logs, the knobs (``fail_next``,
        ``respond_with``) and the recorded invalid payloads; running tasks and pending deliveries are
        cancelled. The settings go back to the session's start-up configuration (ini keys, options,
        config file), undoing ``configure()``, ``set_latency()`` and the like, unless ``keep_config``
        is true (``POST /_mock/reset?keepConfig=true``). The fixture resets before each test, then
        applies that test's marker settings."""
        self._call("POST", "/_mock/reset?keepConfig=true" if keep_config else "/_mock/reset")
        self.engine.forget()
        self._outbound.forget()

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
