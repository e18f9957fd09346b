"""The request log: every message the mock received, and how it answered, bounded in count and bytes.

Transports add an entry as a message arrives (:meth:`RequestLog.add`) and complete it as they
answer (``body``, ``tasks``, ``status``, ``response``), then say so (:meth:`RequestLog.done`):
the entry is then counted for its bytes (:func:`~ideogram_mock.records.log_cost`). The oldest
entries go first when more than ``request_log_size`` are kept or their bytes pass
``request_log_bytes`` (the newest entry always stays).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .config import MockConfig
from .records import log_cost

__all__ = ["RequestLog"]


class RequestLog:
    """Entries oldest first; ``config`` is read on every trim (limits change at run time)."""

    __slots__ = ("_bytes", "_config", "_counter", "_entries")

    def __init__(self, config: Callable[[], MockConfig]) -> None:
        self._config = config
        self._entries: deque[dict[str, Any]] = deque()
        self._bytes = 0
        self._counter = 0

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def add(self, transport: str, size: int, **fields: Any) -> dict[str, Any]:
        """A new entry (``id``, ``at``, ``transport``, ``bodyBytes``, ``fields``) for the caller to complete."""
        self._counter += 1
        entry: dict[str, Any] = {"id": self._counter, "at": time.time(), "transport": transport,
                                 "bodyBytes": size, **fields}  # fmt: skip
        self._entries.append(entry)
        self.trim()
        return entry

    def done(self, entry: dict[str, Any]) -> None:
        """``entry`` is complete: count its bytes (``logBytes``) against ``request_log_bytes``."""
        entry["logBytes"] = cost = log_cost(entry)
        self._bytes += cost
        self.trim()

    def trim(self) -> None:
        cfg = self._config()
        while self._entries and (
            len(self._entries) > cfg.request_log_size
            or (self._bytes > cfg.request_log_bytes and len(self._entries) > 1)
        ):
            self._bytes -= self._entries.popleft().get("logBytes", 0)

    def clear(self) -> None:
        """Forget every entry; ids start again at 1."""
        self._entries.clear()
        self._bytes = 0
        self._counter = 0
