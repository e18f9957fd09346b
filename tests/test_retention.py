"""Task retention (ideogram_mock.retention): running tasks are never forgotten, finished ones go
oldest first, by count or by age, and a store that keeps many tasks forgets as cheaply as a small one."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from ideogram_mock import MockConfig, MockEngine
from ideogram_mock.retention import TaskStore

DOCS_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text()
)


def test_running_tasks_are_never_forgotten_and_finished_ones_go_oldest_first() -> None:
    store: TaskStore[str] = TaskStore()
    runs = {key: f"run {key}" for key in "abcde"}
    for key, run in runs.items():
        store.add(key, run)
    assert store.evict_over(2) == [] and store.evict_oldest() is None and len(store) == 5  # all run: none may go
    store.finished("d", runs["d"], at=1.0)
    store.finished("b", runs["b"], at=2.0)
    store.finished("e", runs["e"], at=3.0)
    assert store.evict_over(3) == ["run d", "run b"]
    assert list(store.values()) == ["run a", "run c", "run e"]  # d then b went (finish order); a, c run
    assert store.get("d") is None and "e" in store


def test_expire_forgets_by_age_and_stops_at_the_first_kept() -> None:
    store: TaskStore[int] = TaskStore()
    for n in range(5):
        store.add(str(n), n)
        store.finished(str(n), n, at=float(n))
    assert store.expire(now=12.0, retention=10.0) == [0, 1, 2]  # finished at 0, 1, 2
    assert [v for v in store.values()] == [3, 4]
    assert store.expire(now=12.5, retention=10.0) == []
    assert store.evict_oldest() == 3 and list(store.values()) == [4]


def test_a_finish_after_the_key_was_reused_changes_nothing() -> None:
    store: TaskStore[object] = TaskStore()
    old, new = object(), object()
    store.add("k", old)
    store.clear()
    store.add("k", new)
    store.finished("k", old, at=0.0)  # the old run, cancelled by a reset, finishing late
    assert store.evict_over(0) == [] and store.get("k") is new


def test_the_engine_keeps_running_tasks_past_max_tasks() -> None:
    async def scenario() -> None:
        engine = MockEngine(MockConfig(max_tasks=2, latency_min=30, latency_max=30))
        runs = [engine.submit({**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}, base_url="http://m") for _ in range(4)]
        assert len(engine.tasks()) == 4 and all(engine.task(r.task_uuid) is r for r in runs)
        engine.configure({"latencyMin": 0, "latencyMax": 0})
        quick = engine.submit({**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}, base_url="http://m")
        await quick.wait()
        engine.submit({**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}, base_url="http://m")
        kept = {t["taskUUID"] for t in engine.tasks()}
        assert {r.task_uuid for r in runs} <= kept  # still running: still pollable
        assert quick.task_uuid not in kept  # the one finished task went first
        await engine.aclose(grace=0)

    asyncio.run(scenario())


def test_many_kept_tasks_do_not_slow_registration_down() -> None:
    """100,000 running tasks, then finished ones past max_tasks: every registration forgets exactly
    the one oldest finished task, wherever the running ones are (the old engine scanned them all)."""
    store: TaskStore[int] = TaskStore()
    for n in range(100_000):
        store.add(f"r{n}", n)
    forgotten = []
    for n in range(1_000):
        store.add(f"f{n}", n)
        store.finished(f"f{n}", n, at=float(n))
        forgotten.append(len(store.evict_over(100_000)))
    assert forgotten == [1] * 1_000 and len(store) == 100_000
