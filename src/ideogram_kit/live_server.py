"""The ``ideogram_server`` fixture's object: :class:`IdeogramServer`, the same app on a loopback
port (one per session, reset for each test), for other HTTP clients, the official SDKs and WebSockets.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ideogram_mock.config import MockConfig
from ideogram_mock.server import BackgroundServer

from .plugin_engine import IdeogramSettings, PluginEngine, _MockControls

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
