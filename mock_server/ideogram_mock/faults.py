"""The seeded fault plan: which task fails, how long it takes, which webhook is dropped.

Each decision draws from its own ``random.Random`` seeded with ``(seed, stream, n)``, where
``n`` counts decisions of that stream since the last reset. The same seed and the same order
of requests therefore give the same faults, however the tasks interleave afterwards.
The rate limiter is a fixed window over the engine's clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from .config import MockConfig

__all__ = ["FaultPlan", "RateLimiter", "TaskFate"]


@dataclass(frozen=True, slots=True)
class TaskFate:
    """What the plan decided for one task (immutable: tasks with the same fate may share one)."""

    latency: float
    failure: str | None  # an error code of the catalogue (providerError, timeoutProvider) or None
    nsfw: tuple[bool, ...]  # per image


class FaultPlan:
    """Seeded, reproducible fault decisions; reads the live config on every draw."""

    def __init__(self, config: Callable[[], MockConfig]) -> None:
        self._config = config
        self._counters: dict[str, int] = {}
        # fates with nothing drawn, shared: a server keeps thousands of finished tasks, one object each is
        # one more for every full garbage collection to walk (keys: latency, NSFW flag, number of images)
        self._undrawn: dict[tuple[float, bool, int], TaskFate] = {}

    def reset(self) -> None:
        self._counters.clear()

    def _rng(self, stream: str) -> tuple[int, random.Random]:
        n = self._counters.get(stream, 0)
        self._counters[stream] = n + 1
        return n, random.Random(f"{self._config().seed}/{stream}/{n}")

    def task(self, number_results: int) -> TaskFate:
        """Decide the next task's latency, failure and NSFW flags."""
        cfg = self._config()
        if (
            cfg.latency_max <= cfg.latency_min
            and cfg.failure_rate <= 0
            and cfg.timeout_rate <= 0
            and cfg.nsfw_rate in (0, 1)
        ):
            # nothing to draw (random() < 0 never holds, < 1 always does): the same fate without seeding
            # a generator, the counter moved on as if it had been
            self._counters["task"] = self._counters.get("task", 0) + 1
            key = (cfg.latency_min, cfg.nsfw_rate == 1, number_results)
            fate = self._undrawn.get(key)
            if fate is None:
                if len(self._undrawn) >= 256:  # latencies change only with the config: never in practice
                    self._undrawn.clear()
                fate = self._undrawn[key] = TaskFate(cfg.latency_min, None, (cfg.nsfw_rate == 1,) * number_results)
            return fate
        _, rng = self._rng("task")
        latency = cfg.latency_min
        if cfg.latency_max > cfg.latency_min:
            latency = rng.uniform(cfg.latency_min, cfg.latency_max)
        roll = rng.random()
        failure = None
        if roll < cfg.failure_rate:
            failure = "providerError"
        elif roll < cfg.failure_rate + cfg.timeout_rate:
            failure = "timeoutProvider"
        nsfw = tuple(rng.random() < cfg.nsfw_rate for _ in range(number_results))
        return TaskFate(latency, failure, nsfw)

    def request_failure(self) -> str | None:
        """The code a whole request is refused with (``request_failure_code``), or None.

        Draws only while ``request_failure_rate`` is above 0, so turning it on does not shift the
        other streams' decisions."""
        cfg = self._config()
        if cfg.request_failure_rate <= 0:
            return None
        _, rng = self._rng("request")
        return cfg.request_failure_code if rng.random() < cfg.request_failure_rate else None

    def drop_webhook(self) -> bool:
        """Whether the next webhook delivery is dropped."""
        rate = self._config().webhook_drop_rate
        _, rng = self._rng("webhook")
        return rng.random() < rate


class RateLimiter:
    """At most ``rate_limit`` requests per fixed ``rate_window``; 0 disables it."""

    def __init__(self, config: Callable[[], MockConfig], clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._window_start = -math.inf
        self._count = 0

    def reset(self) -> None:
        self._window_start = -math.inf
        self._count = 0

    def admit(self) -> float | None:
        """None when the request may proceed, else the seconds until the window reopens."""
        cfg = self._config()
        if cfg.rate_limit <= 0:
            return None
        now = self._clock()
        if now - self._window_start >= cfg.rate_window:
            self._window_start, self._count = now, 0
        if self._count >= cfg.rate_limit:
            return max(self._window_start + cfg.rate_window - now, 0.0)
        self._count += 1
        return None
