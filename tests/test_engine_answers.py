"""What the engine answers about its tasks: GET /_mock/tasks, getTaskDetails, taskNotFound, rate-limit
and request-fault errors, reset and drain (behaviour the mutation run found unchecked; docs/mutation.md).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ideogram_kit.codes import documentation_url
from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.delivery import check_target
from ideogram_mock.tasks import TaskRun

pytestmark = pytest.mark.anyio
TASK = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def task(**changes: Any) -> dict[str, Any]:
    return {**TASK, "taskUUID": str(uuid.uuid4()), **changes}


class Receiver:
    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.calls.append(request)
        return httpx.Response(200)


async def started(receiver: Receiver | None = None, **config: Any) -> tuple[MockEngine, httpx.AsyncClient]:
    transport = httpx.MockTransport(receiver or Receiver())
    engine = MockEngine(MockConfig(**config), outbound_transport=transport)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    return engine, client


@pytest.fixture
async def mock() -> AsyncIterator[tuple[MockEngine, httpx.AsyncClient]]:
    engine, client = await started()
    yield engine, client
    await client.aclose()
    await engine.aclose(0)


async def test_the_task_list_shows_each_task_s_settings_fate_and_outcome() -> None:
    engine, client = await started(latency_min=0.0, latency_max=0.0)
    t = task(numberResults=2, webhookURL="http://127.0.0.1:9/hook")
    before = time.time()
    await client.post("/v1", json=[t])
    assert await engine.drain(5)
    shown = (await client.get(f"/_mock/tasks/{t['taskUUID']}")).json()
    assert set(shown) == {
        "taskUUID", "status", "deliveryMethod", "numberResults", "completed", "createdAt", "finishedAt",
        "latency", "injectedFailure", "webhookURL", "uploadEndpoint", "results", "error",
    }  # fmt: skip
    assert (shown["taskUUID"], shown["status"], shown["deliveryMethod"]) == (t["taskUUID"], "success", "sync")
    assert (shown["numberResults"], shown["completed"], len(shown["results"])) == (2, 2, 2)
    assert before <= shown["createdAt"] <= shown["finishedAt"] <= time.time()
    assert (shown["latency"], shown["injectedFailure"], shown["error"]) == (0.0, None, None)
    assert (shown["webhookURL"], shown["uploadEndpoint"]) == ("http://127.0.0.1:9/hook", None)
    assert all("imageBase64Data" not in r and r["taskUUID"] == t["taskUUID"] for r in shown["results"])
    assert all(uuid.UUID(r["imageUUID"]).version == 4 for r in shown["results"])  # as Runware's are
    assert (await client.get("/_mock/tasks")).json() == [shown]
    await client.aclose()
    await engine.aclose(0)


async def test_the_task_list_shows_an_injected_failure_and_its_error() -> None:
    engine, client = await started(failure_rate=1.0, latency_min=0.25, latency_max=0.25)
    t = task(deliveryMethod="async", uploadEndpoint="http://127.0.0.1:9/put")
    await client.post("/v1", json=[t])
    assert await engine.drain(5)
    shown = (await client.get(f"/_mock/tasks/{t['taskUUID']}")).json()
    assert (shown["status"], shown["deliveryMethod"], shown["completed"]) == ("error", "async", 0)
    assert (shown["latency"], shown["injectedFailure"]) == (0.25, "providerError")
    assert (shown["error"]["code"], shown["error"]["taskUUID"]) == ("providerError", t["taskUUID"])
    assert shown["uploadEndpoint"] == "http://127.0.0.1:9/put" and shown["finishedAt"] is not None
    await client.aclose()
    await engine.aclose(0)


async def test_task_details_of_a_running_task_end_in_a_processing_item(
    mock: tuple[MockEngine, httpx.AsyncClient],
) -> None:
    engine, client = mock
    engine.configure({"latency_min": 30, "latency_max": 30})
    t = task(deliveryMethod="async")
    await client.post("/v1", json=[t])
    [details], errors = engine.task_details(t["taskUUID"])
    assert errors == []
    assert details["response"] == {
        "data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"], "status": "processing"}]
    }
    assert details["request"][0]["taskUUID"] == t["taskUUID"]


async def test_task_details_of_a_failed_task_carry_its_error() -> None:
    engine, client = await started(failure_rate=1.0)
    t = task()
    await client.post("/v1", json=[t])
    [details], _ = engine.task_details(t["taskUUID"])
    assert details["response"]["data"] == []
    [error] = details["response"]["errors"]
    assert (error["code"], error["taskUUID"]) == ("providerError", t["taskUUID"])
    await client.aclose()
    await engine.aclose(0)


async def test_task_details_repeat_the_request_array_the_task_came_in() -> None:
    engine, client = await started()
    first, second = task(), task(positivePrompt="another")
    await client.post("/v1", json=[first, second])
    [details], _ = engine.task_details(second["taskUUID"])
    assert [item["taskUUID"] for item in details["request"]] == [first["taskUUID"], second["taskUUID"]]
    alone = task()
    await client.post("/v1", json=[alone])  # a request of one task: getTaskDetails shows that task
    [details], _ = engine.task_details(alone["taskUUID"])
    assert [item["taskUUID"] for item in details["request"]] == [alone["taskUUID"]]
    await client.aclose()
    await engine.aclose(0)


@pytest.mark.parametrize(("method", "task_type"), [("get_response", "getResponse"), ("task_details", "getTaskDetails")])
async def test_an_unknown_task_is_reported_with_the_uuid_asked_for(
    mock: tuple[MockEngine, httpx.AsyncClient], method: str, task_type: str
) -> None:
    engine, _ = mock
    unknown = str(uuid.uuid4())
    data, [error] = getattr(engine, method)(unknown)
    assert data == []
    assert (error["code"], error["taskType"], error["parameter"]) == ("taskNotFound", task_type, "taskUUID")
    assert (error["taskUUID"], error["value"]) == (unknown, unknown)
    assert error["message"].startswith(f"No task {unknown} is known")
    # a taskUUID that is not a string at all: reported as sent, with no taskUUID to echo
    data, [error] = getattr(engine, method)(123)
    assert (data, error["code"], error["value"], error.get("taskUUID")) == ([], "taskNotFound", 123, None)


async def test_the_rate_limit_error_rounds_the_wait_up_to_whole_seconds(
    mock: tuple[MockEngine, httpx.AsyncClient],
) -> None:
    engine, _ = mock
    for retry_after, seconds in [(0.0, 1), (0.3, 1), (1.0, 1), (1.2, 2)]:
        waited, error = engine.rate_limit_error(retry_after, task_type="imageInference")
        assert (waited, error["code"], error["hint"]) == (seconds, "rateLimitExceeded", f"retry after {seconds} s")
        assert error["taskType"] == "imageInference"


async def test_a_request_fault_error_names_the_task_it_answers(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    engine, _ = mock
    status, error = engine.request_fault_error("serviceUnavailable", task_type="imageInference", task_uuid="t-1")
    assert (status, error["code"], error["taskType"], error["taskUUID"]) == (
        503, "serviceUnavailable", "imageInference", "t-1"
    )  # fmt: skip


async def test_reset_puts_the_start_up_settings_back_unless_asked_to_keep_them() -> None:
    engine = MockEngine(MockConfig(seed=7))
    engine.configure({"failure_rate": 1.0})
    engine.reset(keep_config=True)
    assert engine.config.failure_rate == 1.0
    engine.reset()
    assert engine.config == MockConfig(seed=7)
    await engine.aclose(0)


async def test_every_reset_disowns_the_deliveries_started_before_it() -> None:
    # each reset starts a new generation: a delivery of an earlier one (cancelled) never shows up in the list
    release = asyncio.Event()
    held: list[httpx.Request] = []

    async def hold(request: httpx.Request) -> httpx.Response:
        held.append(request)
        await release.wait()
        return httpx.Response(204)

    engine = MockEngine(MockConfig(), outbound_transport=httpx.MockTransport(hold))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    for _ in range(2):  # two resets in a row, each with a delivery in flight
        await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/hook")])
        for _ in range(500):  # (5 s at most)
            if held:
                break
            await engine.drain(0.01)
        assert held, "the delivery never started"
        held.clear()
        engine.reset()
        await engine.drain(0.05)  # the cancelled delivery's last words come in after the reset
    fresh = task(webhookURL="http://127.0.0.1:9/hook")
    await client.post("/v1", json=[fresh])
    release.set()
    assert await engine.drain(5)
    assert [(d["taskUUID"], d["outcome"]) for d in engine.deliveries()] == [(fresh["taskUUID"], "delivered")]
    await client.aclose()
    await engine.aclose(0)


async def test_drain_without_a_timeout_waits_until_idle(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    engine, client = mock
    engine.configure({"latency_min": 0.05, "latency_max": 0.05})
    t = task(deliveryMethod="async")
    await client.post("/v1", json=[t])
    assert await engine.drain() is True
    assert engine.pending == 0
    run = engine.task(t["taskUUID"])
    assert run is not None and run.status == "success"


async def test_uploads_are_recorded_with_their_own_stable_ids() -> None:
    receiver = Receiver()
    engine, client = await started(receiver)
    t = task(numberResults=2, uploadEndpoint="http://127.0.0.1:9/bucket/out", webhookURL="http://127.0.0.1:9/hook")
    await client.post("/v1", json=[t])
    assert await engine.drain(5)
    deliveries = engine.deliveries()
    uploads = [d for d in deliveries if d["kind"] == "upload"]
    webhooks = [d for d in deliveries if d["kind"] == "webhook"]
    assert len(uploads) == 2 and len(webhooks) == 2
    results = (await client.get(f"/_mock/tasks/{t['taskUUID']}")).json()["results"]
    assert {d["imageUUID"] for d in uploads} == {r["imageUUID"] for r in results}
    assert all(d["taskUUID"] == t["taskUUID"] and d["outcome"] == "delivered" for d in uploads)
    ids = [d["deliveryId"] for d in deliveries]
    assert len(set(ids)) == 4 and all(uuid.UUID(i).version == 4 for i in ids)
    puts = [c for c in receiver.calls if c.method == "PUT"]
    assert sorted(c.headers["X-Delivery-ID"] for c in puts) == sorted(d["deliveryId"] for d in uploads)
    await client.aclose()
    await engine.aclose(0)


async def test_drain_says_so_when_work_outlasts_its_timeout(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    engine, client = mock
    engine.configure({"latency_min": 30, "latency_max": 30})
    await client.post("/v1", json=[task(deliveryMethod="async")])
    assert await engine.drain(0.05) is False
    assert engine.pending == 1


async def test_the_remix_strength_shapes_the_image() -> None:
    # the same task (same taskUUID, so the same seed) but for remixStrength gives another picture
    same_uuid = str(uuid.uuid4())

    async def image(strength: int) -> bytes:
        engine, client = await started()
        t = task(taskUUID=same_uuid)
        t["providerSettings"] = {"ideogram": {**t["providerSettings"]["ideogram"], "remixStrength": strength}}
        [result] = (await client.post("/v1", json=[t])).json()["data"]
        content = (await client.get(httpx.URL(result["imageURL"]).path)).content
        await client.aclose()
        await engine.aclose(0)
        return content

    weak, strong, weak_again = await image(10), await image(90), await image(10)
    assert weak == weak_again and weak != strong


async def test_a_reused_task_uuid_gets_the_whole_conflict_error(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    _, client = mock
    t = task()
    await client.post("/v1", json=[t])
    [error] = (await client.post("/v1", json=[t])).json()["errors"]
    assert error == {
        "code": "conflictTaskUUID",
        "message": f"Conflicting taskUUID '{t['taskUUID']}': a task the server still knows already uses it. "
        "Every task needs its own UUID v4.",
        "documentation": documentation_url("taskUUID"),
        "type": "string",
        "parameter": "taskUUID",
        "value": t["taskUUID"],
        "hint": "give every task its own uuid4(), or POST /_mock/reset",
        "taskType": "imageInference",
        "taskUUID": t["taskUUID"],
    }


async def test_an_outbound_target_off_the_allow_list_gets_the_whole_error(
    mock: tuple[MockEngine, httpx.AsyncClient],
) -> None:
    _, client = mock
    t = task(uploadEndpoint="https://bucket.example/put")
    [error] = (await client.post("/v1", json=[t])).json()["errors"]
    assert error == {
        "code": "forbiddenOutboundTarget",
        "message": check_target("https://bucket.example/put", ()),
        "parameter": "uploadEndpoint",
        "value": "https://bucket.example/put",
        "hint": "use a loopback URL, or add the host to outbound_allow",
        "taskType": "imageInference",
        "taskUUID": t["taskUUID"],
    }


async def test_a_task_the_schema_refuses_is_not_also_judged_by_the_engine_s_rules(
    mock: tuple[MockEngine, httpx.AsyncClient],
) -> None:
    # one report per mistake: the schema's errors alone, not the engine's rules on top
    engine, _ = mock
    codes = [e.code for e in engine.check([task(width=3, webhookURL="https://hooks.example/x")])[0]]
    assert codes and "forbiddenOutboundTarget" not in codes


async def test_the_delivery_log_size_can_change_at_run_time() -> None:
    receiver = Receiver()
    engine, client = await started(receiver)
    engine.configure({"delivery_log_size": 2})
    tasks = [task(webhookURL="http://127.0.0.1:9/hook") for _ in range(3)]
    for t in tasks:
        await client.post("/v1", json=[t])
    assert await engine.drain(5)
    assert len(receiver.calls) == 3
    assert [d["taskUUID"] for d in engine.deliveries()] == [t["taskUUID"] for t in tasks[1:]]  # the newest two
    await client.aclose()
    await engine.aclose(0)


async def test_too_many_tasks_speaks_of_a_request_unless_told_otherwise() -> None:
    engine = MockEngine(MockConfig(max_tasks_per_request=2))
    error = engine.too_many_tasks([{}, {}, {}])
    assert error is not None and error["message"] == "The request has 3 tasks; the limit is 2 (max_tasks_per_request)."
    assert error["hint"] == "split the tasks over several requests"
    assert engine.too_many_tasks([{}, {}]) is None
    await engine.aclose(0)


async def test_aclose_waits_only_the_grace_it_is_given() -> None:
    engine, client = await started(shutdown_grace=60.0, latency_min=60.0, latency_max=60.0)
    await client.post("/v1", json=[task(deliveryMethod="async")])
    started_at = time.monotonic()
    assert await engine.aclose(grace=0.05) == {"finished": 0, "cancelled": 1}
    assert time.monotonic() - started_at < 5
    await client.aclose()


async def test_the_change_counter_grows_with_every_change(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    # the dashboard and long-polling clients wait for it to move
    engine, client = mock
    seen = [engine.changes]
    for _ in range(3):
        await client.post("/v1", json=[task()])
        seen.append(engine.changes)
    assert seen == sorted(set(seen)), seen  # strictly growing


async def test_too_many_images_speaks_of_a_request_unless_told_otherwise() -> None:
    engine = MockEngine(MockConfig(max_images_per_request=2))
    error = engine.too_many_images([{"taskType": "imageInference", "numberResults": 3}], {})
    assert error is not None and "request" in error["message"] and "None" not in error["message"]
    await engine.aclose(0)


async def test_on_task_is_handed_each_task_before_it_runs() -> None:
    # (the pytest plugin overrides MockEngine.on_task for fail_next)
    seen: list[str] = []

    class Watching(MockEngine):
        def on_task(self, run: TaskRun) -> None:
            seen.append(run.task_uuid)

    engine = Watching(MockConfig())
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    t = task()
    await client.post("/v1", json=[t])
    assert seen == [t["taskUUID"]]
    await client.aclose()
    await engine.aclose(0)


async def test_latency_is_the_whole_task_s_not_each_image_s() -> None:
    engine, client = await started(latency_min=0.3, latency_max=0.3)
    began = time.monotonic()
    response = await client.post("/v1", json=[task(numberResults=4)])
    took = time.monotonic() - began
    assert len(response.json()["data"]) == 4
    assert 0.3 <= took < 1.0, took  # four images in 0.3 s, not 4 x 0.3 s
    await client.aclose()
    await engine.aclose(0)


async def test_a_task_cut_short_by_shutdown_ends_in_a_whole_error_item() -> None:
    engine, client = await started(latency_min=60.0, latency_max=60.0)
    t = task(deliveryMethod="async")
    await client.post("/v1", json=[t])
    await engine.aclose(0)
    run = engine.task(t["taskUUID"])
    assert run is not None and run.error is not None
    assert (run.error["code"], run.error["taskType"], run.error["taskUUID"]) == (
        "providerError", "imageInference", t["taskUUID"]
    )  # fmt: skip
    await client.aclose()


async def test_failed_tasks_webhooks_carry_ids_of_their_own() -> None:
    receiver = Receiver()
    engine, client = await started(receiver, failure_rate=1.0)
    for _ in range(2):
        await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/hook")])
    assert await engine.drain(5)
    ids = [call.headers["X-Delivery-ID"] for call in receiver.calls]
    assert len(ids) == 2 and ids[0] != ids[1]
    await client.aclose()
    await engine.aclose(0)


async def test_the_style_shapes_the_image() -> None:
    same_uuid = str(uuid.uuid4())

    async def image(style: str) -> bytes:
        engine, client = await started()
        t = task(taskUUID=same_uuid)
        t["providerSettings"] = {"ideogram": {**t["providerSettings"]["ideogram"], "styleType": style}}
        [result] = (await client.post("/v1", json=[t])).json()["data"]
        content = (await client.get(httpx.URL(result["imageURL"]).path)).content
        await client.aclose()
        await engine.aclose(0)
        return content

    assert await image("RENDER_3D") == await image("RENDER_3D") != await image("ANIME")


async def test_every_image_of_a_task_gets_its_own_content_check(mock: tuple[MockEngine, httpx.AsyncClient]) -> None:
    engine, client = mock
    engine.configure({"nsfw_rate": 1.0})
    t = task(numberResults=3, safety={"checkContent": True})
    data = (await client.post("/v1", json=[t])).json()["data"]
    assert [item["NSFWContent"] for item in data] == [True, True, True]


async def test_a_remix_of_a_mock_image_starts_from_that_image() -> None:
    # a referenceImages entry naming an image the mock issued is that image, not an unknown picture
    first_uuid, remix_uuid = str(uuid.uuid4()), str(uuid.uuid4())

    async def remix_after(prompt: str) -> bytes:
        engine, client = await started()
        [issued] = (await client.post("/v1", json=[task(taskUUID=first_uuid, positivePrompt=prompt)])).json()["data"]
        remix = task(taskUUID=remix_uuid, inputs={"referenceImages": [issued["imageUUID"]]})
        [result] = (await client.post("/v1", json=[remix])).json()["data"]
        content = (await client.get(httpx.URL(result["imageURL"]).path)).content
        await client.aclose()
        await engine.aclose(0)
        return content

    assert await remix_after("a red fox") == await remix_after("a red fox") != await remix_after("a blue whale")


async def test_reset_opens_a_new_rate_window() -> None:
    engine, client = await started(rate_limit=1, rate_window=3600)
    async with client:
        assert (await client.post("/v1", json=[{"taskType": "ping"}])).status_code == 200
        assert (await client.post("/v1", json=[{"taskType": "ping"}])).status_code == 429
        engine.reset()  # forgets the window with everything else: the limit applies afresh
        assert (await client.post("/v1", json=[{"taskType": "ping"}])).status_code == 200
        assert (await client.post("/v1", json=[{"taskType": "ping"}])).status_code == 429
    await engine.aclose(0)


async def test_tasks_with_nothing_to_draw_still_move_the_fault_plan_on() -> None:
    """The same seed gives the same faults to the n-th task whether or not the tasks before it could fail:
    tasks run while nothing was drawn (no faults configured) count as the draws they would have been."""

    async def failures(faults_from_start: bool) -> list[bool]:
        engine = MockEngine(MockConfig(seed=5, failure_rate=0.5 if faults_from_start else 0.0))
        runs = [engine.submit(task(), base_url="http://m.localhost/") for _ in range(4)]
        engine.configure({"failure_rate": 0.5})
        runs += [engine.submit(task(), base_url="http://m.localhost/") for _ in range(12)]
        fates = [run.fate.failure is not None for run in runs[4:]]
        await engine.aclose(0)
        return fates

    later = await failures(faults_from_start=False)
    assert later == await failures(faults_from_start=True)
    assert any(later) and not all(later)


async def test_a_base64_result_keeps_its_image_for_image_ttl_whatever_the_task_s_ttl() -> None:
    """ttl applies to URL outputs only (Runware's docs; the kit warns ineffectiveParameter): the image
    of a base64 result stays reachable by its imageUUID for image_ttl, not for the task's ttl."""
    now = [1000.0]
    engine = MockEngine(MockConfig(image_ttl=3600), clock=lambda: now[0])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine=engine)),
                               base_url="http://mock.localhost", headers={"Authorization": "Bearer k"})  # fmt: skip
    async with client:
        answer = await client.post("/v1", json=[task(outputType="base64Data", ttl=60)])
        assert answer.status_code == 200
        image_uuid = answer.json()["data"][0]["imageUUID"]
        now[0] += 120  # past the task's ttl, well within image_ttl
        assert (await client.get(f"/images/{image_uuid}.jpg")).status_code == 200
        now[0] += 3600  # past image_ttl
        assert (await client.get(f"/images/{image_uuid}.jpg")).status_code == 404
    await engine.aclose(0)
