"""Running the mock with uvicorn: :func:`serve` (the CLI) and :class:`BackgroundServer` (tests).

Shutdown is graceful: on SIGINT or SIGTERM uvicorn stops accepting requests and finishes the
open ones while running tasks, webhooks and uploads go on, for ``shutdown_grace`` seconds. Then
what is still pending is cancelled, recorded, and reported on one line (a request waiting for a
cancelled task gets the task's error), and connections still open half a second later (a client
that never finishes its body) are dropped. The process exits 0 without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import socket
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, TextIO

import uvicorn

from .app import create_app
from .config import MockConfig
from .engine import MockEngine
from .http_protocols import protocol_class
from .websocket import hard_frame_limit

__all__ = ["BackgroundServer", "bind", "serve"]


class _Server(uvicorn.Server):
    """uvicorn's server, draining the engine on shutdown and exiting normally on signals."""

    def __init__(self, config: uvicorn.Config, engine: MockEngine, out: TextIO | None) -> None:
        super().__init__(config)
        self.engine = engine
        self.out = out

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        grace = self.engine.config.shutdown_grace
        pending = self.engine.pending
        # The engine's work (tasks, including those a request waits for, and deliveries) gets the
        # grace time while uvicorn finishes the open requests; at its end the engine cancels what
        # is left, which answers the requests waiting for it; connections still open half a second
        # later (a client that never finishes its body) are dropped. uvicorn's own timeout (by
        # default it waits for ever) is only a backstop: it cancels requests with a traceback.
        self.config.timeout_graceful_shutdown = math.ceil(grace) + 5
        closing = asyncio.ensure_future(self.engine.aclose(grace))
        dropper = asyncio.get_running_loop().call_later(grace + 0.5, self._drop_connections)
        try:
            await super().shutdown(sockets)
        finally:
            dropper.cancel()
        summary = await closing
        if self.out is not None and pending:
            self.out.write(
                f"ideogram mock: shutdown: {summary['finished']} pending deliveries/tasks finished, "
                f"{summary['cancelled']} cancelled (see GET /_mock/deliveries before stopping)\n"
            )
            self.out.flush()

    def _drop_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:  # uvloop's transports are not asyncio.BaseTransport subclasses
                transport.close()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # The signal has been handled by shutting down; do not re-raise it afterwards.
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY only on connections accepted from such a
    # socket, and without it every keep-alive response stalls ~40 ms (Nagle against delayed ACKs)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _run(coro: Coroutine[Any, Any, None], engine: MockEngine) -> None:
    """Run the server's coroutine on uvloop with the httptools stack (when installed), else asyncio's loop."""
    if engine.config.http != "h11":
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is installed with the kit where it exists
            pass
        else:
            uvloop.run(coro)
            return
    asyncio.run(coro)


def _uvicorn_config(engine: MockEngine, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(engine=engine), lifespan="off", access_log=False, log_level=log_level,
        http=protocol_class(engine),
        ws_max_size=hard_frame_limit(engine.config.ws_max_frame_bytes),  # over ws_max_frame_bytes: an error frame
    )  # fmt: skip


def serve(config: MockConfig | None = None, *, out: TextIO | None = None, log_level: str = "warning") -> int:
    """Serve the mock until SIGINT/SIGTERM; prints the base URL first. Returns the exit code."""
    config = config or MockConfig()
    out = out or sys.stdout
    sock = bind(config.host, config.port)
    engine = MockEngine(config.replace(port=sock.getsockname()[1]))  # the port bound, also when 0 was asked
    server = _Server(_uvicorn_config(engine, log_level), engine, out)
    url = _url(sock)
    ws_url = "ws" + url.removeprefix("http")
    out.write(f"ideogram mock: Runware endpoint for ideogram:1@2 at {url}/v1 and {ws_url}/v1 (Ctrl+C to stop)\n")
    out.write(f"ideogram mock: dashboard at {url}/, inspection at {url}/_mock/requests, API at {url}/openapi.json\n")
    out.flush()
    # What start-up made lives as long as the process: out of the garbage collector's sight, full
    # collections only walk what the server keeps (tasks, images, logs), not the code it loaded.
    gc.collect()
    gc.freeze()
    try:
        _run(server.serve(sockets=[sock]), engine)
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl+C during shutdown
        pass
    finally:
        sock.close()
    out.write("ideogram mock: stopped\n")
    out.flush()
    return 0


class BackgroundServer:
    """The mock on a real socket in a background thread: ``with BackgroundServer() as server:``.

    Binds ``config.host`` on a free port (unless ``config.port`` is set and non-default), and
    exposes ``server.url`` (``http://127.0.0.1:PORT``) and ``server.engine``.
    """

    def __init__(
        self, config: MockConfig | None = None, *, engine: MockEngine | None = None, log_level: str = "warning"
    ) -> None:
        self.config = config or (engine.config if engine is not None else MockConfig(port=0))
        self.engine = engine or MockEngine(self.config)
        self._server = _Server(_uvicorn_config(self.engine, log_level), self.engine, None)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        port = self.config.port if self.config.port != MockConfig().port else 0
        self._sock = bind(self.config.host, port)
        self.url = _url(self._sock)
        self.engine.bound_to(self._sock.getsockname()[1])  # /_mock/config shows the port bound
        sock = self._sock
        self._thread = threading.Thread(
            target=lambda: _run(self._server.serve(sockets=[sock]), self.engine), name="ideogram-mock", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mock server did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
