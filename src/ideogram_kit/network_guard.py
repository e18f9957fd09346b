"""The network guard: with the pytest plugin active, reaching Runware's API fails the test at once.

A test whose application calls ``https://api.runware.ai`` (or ``wss://ws-api.runware.ai``) when
no fixture answers it would spend real credits, or hang without network. The guard stops such a
call before it leaves the process and names the fixtures to use instead.

How: a :func:`sys.addaudithook` hook (installed once per process, cheap: one set lookup per
audited event) watches the ``socket.getaddrinfo``, ``socket.gethostbyname(_ex)`` and
``socket.connect`` events. Every client that resolves a host name through Python's socket
module raises them before any packet is sent: httpx (sync, and async on asyncio), requests,
urllib, aiohttp's default resolver, websockets, plain sockets. For a guarded host the hook
raises :class:`UnansweredRunwareRequest` (an ``AssertionError``: clients do not wrap it in their
own connection errors) and records the attempt, so the test fails even when the application
swallows the exception.

What it cannot see: a client that resolves names without Python's socket module (aiohttp with
``aiodns`` installed, apps on uvloop) and requests sent through an HTTP proxy (the client
resolves the proxy, not Runware). Requests that ``ideogram_mock`` answers never reach a socket,
so the guard never sees them.

The ini setting ``ideogram_network_guard = false`` turns the guard off.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import Error

__all__ = ["GUARDED_HOSTS", "NetworkGuard", "UnansweredRunwareRequest", "activate", "deactivate", "message"]

#: Runware's API hosts: REST (``https://api.runware.ai/v1``) and WebSocket (``wss://ws-api.runware.ai/v1``).
GUARDED_HOSTS = frozenset({"api.runware.ai", "ws-api.runware.ai"})
_EVENTS = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.connect"})
INI_SWITCH = "ideogram_network_guard = false"


class UnansweredRunwareRequest(Error, AssertionError):
    """A test reached for Runware's API and no fixture answered (raised by the network guard)."""


def message(host: str, port: object = None) -> str:
    """What the guard says: what happened, what to use instead, how to opt out."""
    where = f"{host}:{port}" if isinstance(port, (int, str)) and port else host
    return (
        f"ideogram network guard: this test tried to reach Runware's API ({where}) and no fixture answered it.\n"
        "Use the ideogram_mock fixture (answers httpx, requests and aiohttp in process), or ideogram_server "
        "(a mock on 127.0.0.1: point the app at ideogram_server.base_url, or ideogram_server.ws_url for "
        "WebSockets).\n"
        f"To let tests call the real API, set `{INI_SWITCH}` in the pytest ini file."
    )


@dataclass
class NetworkGuard:
    """One pytest session's guard: the hosts it stops and what it stopped since :meth:`take`."""

    hosts: frozenset[str] = GUARDED_HOSTS
    stopped: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, host: Any, port: Any) -> None:
        __tracebackhide__ = True  # pytest shows the application's frames, not the guard's
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str):
            return
        name = host.lower().rstrip(".")
        if name in self.hosts:
            text = message(name, port)
            with self._lock:
                self.stopped.append(text)
            raise UnansweredRunwareRequest(text)

    def take(self) -> list[str]:
        """The messages of the calls stopped since the last call (each call once)."""
        with self._lock:
            stopped, self.stopped = self.stopped, []
        return list(dict.fromkeys(stopped))


_active: list[NetworkGuard] = []  # innermost session last (pytester runs sessions inside sessions)
_installed = False
_install_lock = threading.Lock()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _EVENTS or not _active:
        return
    __tracebackhide__ = True
    guard = _active[-1]
    if event == "socket.connect":
        address = args[1] if len(args) > 1 else None
        if isinstance(address, tuple) and address:
            guard.check(address[0], address[1] if len(address) > 1 else None)
    elif args:
        guard.check(args[0], args[1] if event == "socket.getaddrinfo" and len(args) > 1 else None)


def activate(hosts: Iterable[str] = GUARDED_HOSTS) -> NetworkGuard:
    """Start guarding ``hosts`` until :func:`deactivate` (installs the audit hook on first use); returns
    the guard. The last guard activated decides; one with no hosts lets everything through."""
    global _installed
    guard = NetworkGuard(frozenset(h.lower() for h in hosts))
    with _install_lock:
        if guard.hosts and not _installed:
            sys.addaudithook(_audit)
            _installed = True
    _active.append(guard)
    return guard


def deactivate(guard: NetworkGuard) -> None:
    """Stop ``guard`` (the hook stays installed, idle, as audit hooks cannot be removed)."""
    if guard in _active:
        _active.remove(guard)
