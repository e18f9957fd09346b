"""The ``ideogram_webhook_receiver`` fixture's object: :class:`WebhookReceiver`, a loopback HTTP
server that records every webhook POST and upload PUT attempt, accepted or refused, with the
status it answered.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

Counting = Literal["accepted", "attempts"]
#: Called by :meth:`WebhookReceiver.wait_for` before it returns: ``settle(attempts, timeout)`` waits until
#: whoever sent ``attempts`` has logged them (the ``ideogram_server`` fixture registers one).
Settler = Callable[[Sequence["ReceivedDelivery"], float], None]

# ---------------------------------------------------------------------------------------------
# ideogram_webhook_receiver
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedDelivery:
    """One POST or PUT attempt the receiver got, accepted (2xx) or refused, with the status it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: httpx.Headers  # case-insensitive: headers["x-delivery-id"] == headers["X-Delivery-ID"]
    body: bytes
    status: int  # what the receiver answered

    @property
    def accepted(self) -> bool:
        """True when the receiver answered 2xx (the sender counts the delivery as done)."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on ``127.0.0.1`` recording webhook POSTs and upload PUTs.

    ``url`` is its base (``http://127.0.0.1:PORT``); any path works. ``fail_next(n)`` makes
    the next ``n`` attempts get ``status`` (500) to exercise retries. Every attempt is recorded
    (:attr:`attempts`), accepted or refused; :attr:`deliveries` are the accepted ones.
    ``wait_for(n)`` blocks until ``n`` deliveries were accepted, ``wait_for(n, count="attempts")``
    until ``n`` attempts arrived, refused ones included.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._received: list[ReceivedDelivery] = []
        self._failures: deque[int] = deque()
        self._settlers: list[Settler] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _collect(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver._failures.popleft() if receiver._failures else 200
                    parts = urllib.parse.urlsplit(self.path)
                    query = urllib.parse.parse_qs(parts.query)
                    headers = httpx.Headers(list(self.headers.items()))
                    delivery = ReceivedDelivery(self.command, parts.path, query, headers, body, status)
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
        """Refuse the next ``times`` attempts with ``status`` (they are recorded all the same)."""
        with self._lock:
            self._failures.extend([status] * times)

    def settle_with(self, settle: Settler) -> None:
        """Have :meth:`wait_for` call ``settle(attempts, timeout)`` before it returns."""
        self._settlers.append(settle)

    @property
    def attempts(self) -> list[ReceivedDelivery]:
        """Every POST and PUT attempt, accepted or refused, in arrival order (``.status`` says which)."""
        with self._lock:
            return list(self._received)

    @property
    def received(self) -> list[ReceivedDelivery]:
        """Every POST and PUT attempt, refused ones included (the old name of :attr:`attempts`)."""
        return self.attempts

    @property
    def refused(self) -> list[ReceivedDelivery]:
        """The attempts the receiver answered with a non-2xx status."""
        return [d for d in self.attempts if not d.accepted]

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        """The accepted (2xx) POSTs and PUTs."""
        return [d for d in self.attempts if d.accepted]

    @property
    def webhooks(self) -> list[Any]:
        """The JSON bodies of the accepted webhook POSTs."""
        return [d.json() for d in self.deliveries if d.method == "POST"]

    def wait_for(self, n: int, timeout: float = 10.0, *, count: Counting = "accepted") -> list[ReceivedDelivery]:
        """Block until ``n`` deliveries were accepted (``count="accepted"``, the default) or ``n``
        attempts arrived, refused ones included (``count="attempts"``); returns the accepted
        deliveries, or every attempt. Raises TimeoutError saying what arrived."""
        if count not in ("accepted", "attempts"):
            raise ValueError(f"count must be 'accepted' or 'attempts', got {count!r}")
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._count(count) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._shortfall(n, count, timeout))
                self._lock.wait(remaining)
            attempts = list(self._received)
        for settle in self._settlers:
            settle(attempts, max(deadline - time.monotonic(), 1.0))
        return attempts if count == "attempts" else [d for d in attempts if d.accepted]

    def _count(self, count: Counting) -> int:
        return len(self._received) if count == "attempts" else sum(1 for d in self._received if d.accepted)

    def _shortfall(self, n: int, count: Counting, timeout: float) -> str:
        refused = [d.status for d in self._received if not d.accepted]
        accepted = len(self._received) - len(refused)
        wanted = f"{n} accepted deliveries" if count == "accepted" else f"{n} attempts"
        got = accepted if count == "accepted" else len(self._received)
        statuses = f" (answered {', '.join(map(str, refused))})" if refused else ""
        return (
            f"{got} of {wanted} arrived within {timeout:g} s: {len(self._received)} attempts in all, "
            f"{accepted} accepted, {len(refused)} refused{statuses}"
        )

    def __iter__(self) -> Iterator[ReceivedDelivery]:
        return iter(self.deliveries)
