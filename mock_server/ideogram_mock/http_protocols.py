"""The mock's HTTP/1.1 protocols: uvicorn's, answering what they cannot parse as Runware would.

uvicorn answers a request its parser refuses (a header block over 16 KiB, a malformed request
line) with a plain-text 400 before the app sees it; here the answer is JSON like every other
error: 431 ``headersTooLarge`` or 400 ``invalidHttpRequest``, then the connection closes.

Both also bound how long a client may hold a connection without sending a request: from the
connection (or the end of the last answer) to a complete request head, ``header_timeout``; from
the head to the end of the body, ``body_timeout``. Past either, a client that has begun a
request gets 408 ``requestTimeout`` and the connection closes; an idle one is just closed.
uvicorn's own keep-alive timeout only starts after a first answer, and nothing bounds a body.

Two parsers, one behaviour (``tests/test_limits.py`` runs its cases on both):

- :class:`HttpToolsProtocol` (setting ``http`` ``auto``, the default, or ``httptools``):
  uvicorn's fastest stack, llhttp in C, run on uvloop where it exists.
- :class:`H11Protocol` (``http = "h11"``): pure Python, on asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import http
import sys
from typing import Any, NoReturn

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol as _UvicornH11
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _UvicornHttpTools

from . import protocol
from .engine import MockEngine, error_item

__all__ = ["HEAD_LIMIT", "protocol_class"]

#: The largest request head (request line and headers) accepted, as h11's default.
HEAD_LIMIT = 16 * 1024


def _error_answer(status: int, err: dict[str, Any]) -> bytes:
    """A whole HTTP/1.1 answer carrying a Runware error envelope, closing the connection."""
    body = protocol.encode(protocol.rest_errors([err]))
    head = (f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")  # fmt: skip
    return head.encode() + body


def _too_large() -> tuple[int, dict[str, Any]]:
    return 431, error_item("headersTooLarge", "The request's header block is over 16 KiB.")


def _not_http(detail: str) -> tuple[int, dict[str, Any]]:
    detail = detail[:200]  # the parser may quote the client's bytes: keep it short
    return 400, error_item(
        "invalidHttpRequest", "The request is not valid HTTP/1.1" + (f": {detail}" if detail else ".")
    )


class _Deadlines:
    """The header/body deadlines, shared by both protocols (a mixin over uvicorn's protocol)."""

    engine: MockEngine | None = None  # set on the per-server subclass (protocol_class)
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None
    _phase = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]  # uvicorn's protocol, after this mixin
        self._arm("header")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

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

    def _gone(self) -> bool:
        """The connection is closing, or it is a WebSocket now."""
        current: object = self.transport.get_protocol()
        return self.transport.is_closing() or current is not self

    def _expired(self, phase: str) -> None:
        self._deadline = None
        if self._gone():
            return
        if (phase == "body" or self._head_begun()) and self._may_answer():  # no answer begun: say why
            self.transport.write(_error_answer(408, error_item("requestTimeout", self._timeout_message(phase))))
        self.transport.close()

    def _timeout_message(self, phase: str) -> str:
        assert self.engine is not None
        cfg = self.engine.config
        if phase == "header":
            return f"The request's headers did not arrive within header_timeout ({cfg.header_timeout:g} s)."
        return f"The request's body did not arrive within body_timeout ({cfg.body_timeout:g} s)."

    def _head_begun(self) -> bool:
        raise NotImplementedError

    def _may_answer(self) -> bool:
        raise NotImplementedError


class H11Protocol(_Deadlines, _UvicornH11):
    """uvicorn's h11 protocol with the mock's error answers and deadlines."""

    def handle_events(self) -> None:
        super().handle_events()
        if self._gone():
            self._disarm()
        elif self.conn.their_state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body")
        elif self.conn.their_state is h11.IDLE:
            if self.conn.our_state is h11.IDLE and self._phase != "header":
                self._arm("header")  # both sides done (an answer sent before the body ended): the next request
        else:  # the request is in: the app answers in its own time
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm("header")  # waiting for the next request on a kept-alive connection

    def _head_begun(self) -> bool:
        return bool(self.conn.trailing_data[0])  # an idle connection has sent nothing

    def _may_answer(self) -> bool:
        return self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE)

    def send_400_response(self, msg: str) -> None:
        if not self._may_answer():
            self.transport.close()  # the app has answered already (e.g. a 413 mid-body): nothing more to send
            return
        exc = sys.exc_info()[1]  # uvicorn calls this from its `except h11.RemoteProtocolError`
        protocol_error = exc if isinstance(exc, h11.RemoteProtocolError) else None
        if protocol_error is not None and protocol_error.error_status_hint == 431:
            status, err = _too_large()
        else:
            status, err = _not_http(str(protocol_error or ""))
        self.transport.write(_error_answer(status, err))
        self.transport.close()


class _Refused(Exception):
    """Raised inside the httptools parser to stop it; the answer to send is on the protocol (``_refused``)."""


class HttpToolsProtocol(_Deadlines, _UvicornHttpTools):
    """uvicorn's httptools protocol with the mock's error answers, head limit and deadlines.

    llhttp itself bounds nothing, so the head is counted here: the bytes received while a
    head is incomplete (a bound from above, so a head cut into pieces is caught before it
    grows), and the request line and headers as parsed once it is complete.
    """

    _in_head = True  # between messages or inside a request head
    _began = False  # a request's first byte has been parsed, its last not yet
    _head_bytes = 0  # bytes received since the last message ended, while in a head
    _parsed_head = 0  # request line and header bytes of the current message
    _refused: tuple[int, dict[str, Any]] | None = None  # the answer to a request stopped in its head
    _hosts = 0  # Host header lines of the current message

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._gone():
            self._disarm()
        elif self._in_head and self._head_bytes > HEAD_LIMIT and self._may_answer():
            self._answer(*_too_large())  # a head still incomplete, grown past the limit

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = True
        self._parsed_head = 0
        self._hosts = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count(len(name) + len(value) + 4)
        if len(name) == 4 and name.lower() == b"host":
            self._hosts += 1

    def _count(self, size: int) -> None:
        self._parsed_head += size
        if self._parsed_head > HEAD_LIMIT:
            self._refuse(*_too_large())

    def _refuse(self, status: int, err: dict[str, Any]) -> NoReturn:
        """Stop the parser (any exception does); :meth:`send_400_response` then sends this answer."""
        self._refused = (status, err)
        raise _Refused

    def on_headers_complete(self) -> None:
        self._in_head = False
        # RFC 9112 3.2: one Host line, and a Host in every HTTP/1.1 request (h11 refuses the same)
        if self._hosts > 1 or (self._hosts == 0 and self.parser.get_http_version() == "1.1"):
            self._refuse(
                *_not_http("Found multiple Host: headers" if self._hosts else "Missing mandatory Host: header")
            )
        if self.parser.should_upgrade() and not self._should_upgrade():
            # llhttp would stop reading at the end of the head (the body lost, the connection stuck):
            # say so instead. WebSocket upgrades go on as uvicorn does them.
            wanted = (self._get_upgrade() or b"?")[:40].decode("latin-1")
            message = (f"Upgrade to {wanted!r} is not supported: the mock speaks HTTP/1.1 (and WebSocket on /v1). "
                       "Send the request without the Upgrade header (curl: without --http2).")  # fmt: skip
            self._refuse(400, error_item("invalidHttpRequest", message))
        super().on_headers_complete()
        if self.pipeline:  # queued behind an answer still being made: no clock on its body yet
            self._disarm()
        elif not self._gone():
            self._arm("body")  # until the end of the body (at once for a request without one)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._began = False
        self._head_bytes = 0
        cycle = self.cycle
        upgrading = self.parser.should_upgrade()  # a WebSocket handshake: the socket protocol takes over
        if not upgrading and cycle is not None and cycle.response_complete and not self.pipeline and not self._gone():
            self._arm("header")  # answered before the body ended (413, 404): now waiting for the next request
        else:
            self._disarm()  # the request is in: the app answers in its own time

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # the next request is in already: the app answers it
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if not pipelined and self._in_head:
            self._arm("header")  # waiting for the next request on a kept-alive connection
        elif pipelined and not self.pipeline and not self._in_head:
            self._arm("body")  # the queued request now being answered has not sent all its body

    def _head_begun(self) -> bool:
        return self._head_bytes > 0 or self._began

    def _may_answer(self) -> bool:
        if self.pipeline:  # an earlier request is being answered: nothing may come in between
            return False
        cycle = self.cycle
        if self._in_head:  # a new request's head: the last answer (if any) is complete
            return cycle is None or cycle.response_complete
        return cycle is None or not cycle.response_started

    def _answer(self, status: int, err: dict[str, Any]) -> None:
        self._disarm()
        self.transport.write(_error_answer(status, err))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if not self._may_answer():
            self.transport.close()  # the app has answered already (e.g. a 413 mid-body): nothing more to send
            return
        if self._refused is not None:
            self._answer(*self._refused)
            return
        exc = sys.exc_info()[1]  # uvicorn calls this from its `except httptools.HttpParserError`
        self._answer(*_not_http(str(exc or "").strip()))


def protocol_class(engine: MockEngine) -> type[Any]:
    """The HTTP protocol class of one server, by ``engine.config.http``: it reads that engine's timeouts."""
    base = H11Protocol if engine.config.http == "h11" else HttpToolsProtocol
    return type(f"_Engine{base.__name__}", (base,), {"engine": engine})
