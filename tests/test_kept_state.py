"""What the mock keeps of a finished task: all a client can still ask for, in a form that stays cheap.

A server remembers up to ``max_tasks`` finished tasks. Each is kept as JSON text and flat tuples
(:meth:`TaskRun._compact <ideogram_mock.tasks.TaskRun._compact>`), so the garbage collector's full
collections do not walk thousands of parsed requests: at 10,000 kept tasks those walks were 80 ms
pauses that set the mock's p99 latency. What a client reads back must not change.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest

from ideogram_mock import MockConfig, MockEngine

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _task(**changes: Any) -> dict[str, Any]:
    return {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), **changes}


async def _post(engine: MockEngine, body: Any) -> tuple[int, dict[str, Any]]:
    reply = await engine.handle_rest(
        json.dumps(body).encode(), authorization="Bearer k", base_url="http://m.localhost/"
    )
    return reply.status, reply.body


async def test_a_finished_task_reads_back_as_it_was_sent() -> None:
    engine = MockEngine(MockConfig())
    sent = _task(numberResults=2.0, outputType="URL")  # an integral float: served as 2, shown as sent
    status, answer = await _post(engine, [sent])
    assert status == 200 and len(answer["data"]) == 2
    run = engine.task(sent["taskUUID"])
    assert run is not None and run.done
    assert run.task["numberResults"] == 2 and isinstance(run.task["numberResults"], int)
    status, details = await _post(engine, [{"taskType": "getTaskDetails", "taskUUID": sent["taskUUID"]}])
    (item,) = details["data"]
    assert item["request"] == [sent] and item["request"][0]["numberResults"] == 2.0
    assert item["response"] == answer
    status, polled = await _post(engine, [{"taskType": "getResponse", "taskUUID": sent["taskUUID"]}])
    assert [r["imageURL"] for r in polled["data"]] == [r["imageURL"] for r in answer["data"]]
    assert engine.tasks()[-1]["completed"] == 2
    await engine.aclose(0)


async def test_a_task_of_a_request_of_several_keeps_the_whole_request() -> None:
    engine = MockEngine(MockConfig())
    first, second = _task(), _task(positivePrompt="another")
    await _post(engine, [{"taskType": "authentication", "apiKey": "secret"}, first, second])
    _, details = await _post(engine, [{"taskType": "getTaskDetails", "taskUUID": second["taskUUID"]}])
    (item,) = details["data"]
    assert item["request"] == [{"taskType": "authentication", "apiKey": "<redacted>"}, first, second]
    await engine.aclose(0)


def _tracked() -> int:
    gc.collect()
    gc.collect()  # a second pass untracks what the first found holding only atoms
    return len(gc.get_objects())


async def test_finished_tasks_cost_the_garbage_collector_almost_nothing() -> None:
    engine = MockEngine(MockConfig(request_log_size=10))  # the log is bounded on its own: keep it out of the count
    for _ in range(50):
        await _post(engine, [_task(numberResults=2)])
    before = _tracked()
    kept = 400
    for _ in range(kept):
        await _post(engine, [_task(numberResults=2)])
    per_task = (_tracked() - before) / kept
    assert len(engine.tasks()) == 450
    # the TaskRun and its list of results; parsed, each was 12 (the task's dicts, the request, a fate, recipes)
    assert per_task <= 2, per_task
    await engine.aclose(0)


async def test_the_tasks_of_one_request_keep_one_copy_of_it() -> None:
    """A request of ten tasks, each with a 200 KB inline reference: kept once (as JSON text), not per task."""
    engine = MockEngine(MockConfig())
    reference = "data:image/png;base64," + "A" * 200_000
    tasks = [_task(inputs={"referenceImages": [reference]}) for _ in range(10)]
    body = json.dumps(tasks).encode()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        reply = await engine.handle_rest(body, authorization="Bearer k", base_url="http://m.localhost/")
        assert reply.status == 200 and len(reply.body["data"]) == 10
        del reply
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 2 * len(body), f"{kept} bytes kept for a {len(body)}-byte request"  # was 11 copies
    runs = [engine.task(t["taskUUID"]) for t in tasks]
    assert all(run is not None and run.request == tasks for run in runs)
    assert [run.task["inputs"]["referenceImages"] for run in runs if run is not None] == [[reference]] * 10
    await engine.aclose(0)
