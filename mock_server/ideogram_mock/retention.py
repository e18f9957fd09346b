"""Which tasks the mock remembers: :class:`TaskStore`, every operation O(1) per task.

A task is kept from the moment it is registered. Once it finishes it joins a queue in finish
order; from there it is forgotten either when ``retention`` seconds have passed since it
finished (:meth:`TaskStore.expire`) or when more than ``max_tasks`` tasks are kept
(:meth:`TaskStore.evict_over`, oldest finished first). A running task is never forgotten, so
the store may hold more than ``max_tasks`` while that many are running.

Both forget from the front of the finish queue and stop at the first task they keep, so each
call costs O(1) plus O(1) per task forgotten: a server that keeps 100,000 tasks registers,
finishes and forgets them as fast as one that keeps ten (the old engine scanned every kept task
on each registration past ``max_tasks``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["TaskStore"]

T = TypeVar("T")


class TaskStore(Generic[T]):
    """Tasks by key (the lower-cased taskUUID), in registration order."""

    __slots__ = ("_all", "_finished")

    def __init__(self) -> None:
        self._all: dict[str, T] = {}
        self._finished: OrderedDict[str, float] = OrderedDict()  # key -> finish time, oldest first

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, key: str) -> bool:
        return key in self._all

    def get(self, key: str) -> T | None:
        return self._all.get(key)

    def values(self) -> Iterator[T]:
        """The kept tasks, oldest registration first."""
        return iter(self._all.values())

    def add(self, key: str, task: T) -> None:
        """Keep ``task`` (running) under ``key``."""
        self._finished.pop(key, None)
        self._all[key] = task

    def finished(self, key: str, task: T, at: float) -> None:
        """``task`` (kept under ``key``) finished at ``at`` (monotonic seconds): it may be forgotten from
        now on. A task no longer kept (forgotten by a reset, its key reused since) changes nothing."""
        if self._all.get(key) is task and key not in self._finished:
            self._finished[key] = at

    def evict_over(self, limit: int) -> list[T]:
        """Forget the oldest finished tasks until at most ``limit`` are kept (or none finished is
        left); returns the tasks forgotten."""
        forgotten: list[T] = []
        while len(self._all) > limit and self._finished:
            forgotten.append(self._pop_oldest())
        return forgotten

    def evict_oldest(self) -> T | None:
        """Forget the oldest finished task (a byte budget is over); None when every kept task runs."""
        return self._pop_oldest() if self._finished else None

    def expire(self, now: float, retention: float) -> list[T]:
        """Forget the tasks that finished ``retention`` seconds or more before ``now``; returns them."""
        forgotten: list[T] = []
        while self._finished and next(iter(self._finished.values())) + retention <= now:
            forgotten.append(self._pop_oldest())
        return forgotten

    def _pop_oldest(self) -> T:
        key, _ = self._finished.popitem(last=False)
        return self._all.pop(key)

    def clear(self) -> None:
        self._all.clear()
        self._finished.clear()
