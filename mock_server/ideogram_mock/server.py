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
import http
import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import TextIO

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import protocol
from .app import create_app
from .config import MockConfig
from .engine import MockEngine, error_item
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
            if isinstance(transport, asyncio.BaseTransport):
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


class _HTTPProtocol(H11Protocol):
    """uvicorn's h11 protocol, answering what h11 cannot parse with a Runware-style envelope.

    uvicorn answers a request h11 refuses (a header block over 16 KiB, a malformed request
    line) with a plain-text 400 before the app sees it; here the answer is JSON like every
    other error: 431 ``headersTooLarge`` or 400 ``invalidHttpRequest``, then the connection
    closes. h11 is chosen explicitly, so installing httptools changes nothing.

    It also bounds how long a client may hold a connection without sending a request: from the
    connection (or the end of the last answer) to a complete request head, ``header_timeout``;
    from the head to the end of the body, ``body_timeout``. Past either, a client that has begun
    a request gets 408 ``requestTimeout`` and the connection closes; an idle one is just closed.
    uvicorn's own keep-alive timeout only starts after a first answer, and nothing bounds a body.
    """

    engine: MockEngine | None = None  # set on the per-server subclass (_protocol_for)
    _deadline: asyncio.TimerHandle | None = None
    _phase = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("header")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.transport.is_closing() or self.transport.get_protocol() is not self:  # closed, or a WebSocket now
            self._disarm()
        elif self.conn.their_state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body")
        elif self.conn.their_state is not h11.IDLE:  # the request is in: the app answers in its own time
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm("header")  # waiting for the next request on a kept-alive connection

    def _arm(self, phase: str) -> None:
        self._disarm()
        if self.engine is None:
            return
        cfg = self.engine.config
        seconds = cfg.header_timeout if phase == "header" else cfg.body_timeout
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired, phase)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = ""

    def _expired(self, phase: str) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        begun = phase == "body" or bool(self.conn.trailing_data[0])  # an idle connection has sent nothing
        if begun and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # no answer begun: say why
            err = error_item("requestTimeout", self._timeout_message(phase))
            body = protocol.encode(protocol.rest_errors([err]))
            head = (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")  # fmt: skip
            self.transport.write(head.encode() + body)
        self.transport.close()

    def _timeout_message(self, phase: str) -> str:
        assert self.engine is not None
        cfg = self.engine.config
        if phase == "header":
            return f"The request's headers did not arrive within header_timeout ({cfg.header_timeout:g} s)."
        return f"The request's body did not arrive within body_timeout ({cfg.body_timeout:g} s)."

    def _answer(self, status: int, err: dict[str, object]) -> None:
        """Write a Runware-style error answer on this connection, then close it."""
        body = protocol.encode(protocol.rest_errors([err]))
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        reason = http.HTTPStatus(status).phrase.encode()
        events = (h11.Response(status_code=status, headers=headers, reason=reason), h11.Data(data=body),
                  h11.EndOfMessage())  # fmt: skip
        for event in events:
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.close()  # the app has answered already (e.g. a 413 mid-body): nothing more to send
            return
        exc = sys.exc_info()[1]  # uvicorn calls this from its `except h11.RemoteProtocolError`
        protocol_error = exc if isinstance(exc, h11.RemoteProtocolError) else None
        if protocol_error is not None and protocol_error.error_status_hint == 431:
            status, err = 431, error_item("headersTooLarge", "The request's header block is over 16 KiB.")
        else:
            detail = str(protocol_error or "")[:200]  # h11 may quote the client's bytes: keep it short
            message = "The request is not valid HTTP/1.1" + (f": {detail}" if detail else ".")
            status, err = 400, error_item("invalidHttpRequest", message)
        self._answer(status, err)


def _protocol_for(engine: MockEngine) -> type[_HTTPProtocol]:
    """The HTTP protocol class of one server: it reads that engine's timeouts."""
    return type("_EngineHTTPProtocol", (_HTTPProtocol,), {"engine": engine})


def _uvicorn_config(engine: MockEngine, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(engine=engine), lifespan="off", access_log=False, log_level=log_level, http=_protocol_for(engine),
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
    try:
        asyncio.run(server.serve(sockets=[sock]))
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
        self.engine.configure({"port": self._sock.getsockname()[1]})  # /_mock/config shows the port bound
        sock = self._sock
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])), name="ideogram-mock", daemon=True
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
