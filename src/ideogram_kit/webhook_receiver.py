"""The ``ideogram_webhook_receiver`` fixture's object: :class:`WebhookReceiver`, a loopback HTTP
server that collects webhook POSTs and upload PUTs.
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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

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
