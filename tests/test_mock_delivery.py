"""Webhooks and uploads: one call per image, retries with backoff, stable delivery ids, allow-list."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.delivery import DELIVERY_ID_HEADER, Deliverer, check_target, is_loopback_address, retry_delay

pytestmark = pytest.mark.anyio
TASK = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Receiver:
    """An outbound transport that records requests and answers with scripted statuses."""

    def __init__(self, statuses: list[int | None] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.calls.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)


async def setup(receiver: Receiver, **config: Any) -> tuple[MockEngine, httpx.AsyncClient]:
    cfg = MockConfig(**{"delivery_base_delay": 0.01, **config})
    engine = MockEngine(cfg, outbound_transport=httpx.MockTransport(receiver))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    return engine, client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    yield Receiver()


def task(**changes: Any) -> dict[str, Any]:
    return {**TASK, "taskUUID": str(uuid.uuid4()), **changes}


async def test_one_webhook_per_image_in_sync_response_shape(receiver: Receiver) -> None:
    engine, client = await setup(receiver)
    t = task(numberResults=2, webhookURL="http://127.0.0.1:9/hook?token=abc")
    ack = await client.post("/v1", json=[t])
    assert ack.json() == {"data": [{"taskType": "imageInference", "taskUUID": t["taskUUID"]}]}
    assert await engine.drain(5)
    assert len(receiver.calls) == 2
    for call in receiver.calls:
        assert call.method == "POST" and call.url.query == b"token=abc"
        body = json.loads(call.content)  # webhook_body "flat" (default): the result object itself
        assert body["taskUUID"] == t["taskUUID"] and "imageURL" in body and "data" not in body
    assert len({c.headers[DELIVERY_ID_HEADER] for c in receiver.calls}) == 2
    assert [d["outcome"] for d in engine.deliveries()] == ["delivered", "delivered"]
    await client.aclose()
    await engine.aclose()


async def test_retries_with_backoff_and_a_stable_delivery_id() -> None:
    receiver = Receiver([500, None, 204])
    engine, client = await setup(receiver, delivery_attempts=4)
    await client.post("/v1", json=[task(webhookURL="http://localhost:9/hook")])
    assert await engine.drain(5)
    assert len(receiver.calls) == 3
    assert len({c.headers[DELIVERY_ID_HEADER] for c in receiver.calls}) == 1
    assert [c.headers["X-Delivery-Attempt"] for c in receiver.calls] == ["1", "2", "3"]
    attempts = engine.deliveries()
    assert [(a["outcome"], a["statusCode"], a["final"]) for a in attempts] == [
        ("failed", 500, False), ("failed", None, False), ("delivered", 204, True)
    ]  # fmt: skip
    assert "ConnectError" in attempts[1]["error"]
    # 10 ms doubling, each wait scaled by the seeded jitter factor (at least 1 - delivery_jitter = 0.8)
    assert attempts[1]["at"] - attempts[0]["at"] >= 0.0075 and attempts[2]["at"] - attempts[1]["at"] >= 0.015
    await client.aclose()
    await engine.aclose()


async def test_gives_up_after_the_configured_attempts() -> None:
    receiver = Receiver([503, 503, 503])
    engine, client = await setup(receiver, delivery_attempts=2)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/")])
    assert await engine.drain(5)
    assert len(receiver.calls) == 2
    assert engine.deliveries()[-1]["final"] is True and engine.deliveries()[-1]["outcome"] == "failed"
    await client.aclose()
    await engine.aclose()


async def test_failed_task_posts_its_error() -> None:
    receiver = Receiver()
    engine, client = await setup(receiver, failure_rate=1.0)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/")])
    assert await engine.drain(5)
    error = json.loads(receiver.calls[0].content)
    assert (error["code"], error["taskType"]) == ("providerError", "imageInference")
    await client.aclose()
    await engine.aclose()


@pytest.mark.parametrize("shape", ["flat", "data"])
async def test_webhook_body_shape_is_a_setting(shape: str) -> None:
    receiver = Receiver()
    engine, client = await setup(receiver, webhook_body=shape)
    ok, failing = task(webhookURL="http://127.0.0.1:9/ok"), task(webhookURL="http://127.0.0.1:9/bad")
    await client.post("/v1", json=[ok])
    assert await engine.drain(5)
    engine.configure({"failure_rate": 1.0})
    await client.post("/v1", json=[failing])
    assert await engine.drain(5)
    result, error = (json.loads(call.content) for call in receiver.calls)
    if shape == "data":
        assert list(result) == ["data"] and list(error) == ["errors"]
        result, error = result["data"][0], error["errors"][0]
    assert (result["taskUUID"], "imageURL" in result) == (ok["taskUUID"], True)
    assert (error["taskUUID"], error["code"]) == (failing["taskUUID"], "providerError")
    await client.aclose()
    await engine.aclose()


def test_retry_waits_double_from_250_ms_capped_at_8_s_with_seeded_jitter() -> None:
    exact = MockConfig(delivery_jitter=0.0)
    assert [retry_delay(exact, "d", n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    jittered = MockConfig()
    waits = [retry_delay(jittered, "d", n) for n in range(1, 8)]
    assert waits == [retry_delay(jittered, "d", n) for n in range(1, 8)]  # the same seed, the same waits
    assert all(0.8 * e <= w <= min(1.2 * e, 8.0) for w, e in zip(waits, [0.25, 0.5, 1, 2, 4, 8, 8], strict=True))
    assert waits != [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert retry_delay(jittered, "another delivery", 1) != waits[0]


async def test_dropped_webhooks_are_recorded_not_sent() -> None:
    receiver = Receiver()
    engine, client = await setup(receiver, webhook_drop_rate=1.0)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/")])
    assert await engine.drain(5)
    assert receiver.calls == []
    assert engine.deliveries()[0]["outcome"] == "dropped"
    await client.aclose()
    await engine.aclose()


async def test_upload_puts_raw_image_bytes(receiver: Receiver) -> None:
    engine, client = await setup(receiver)
    t = task(uploadEndpoint="http://127.0.0.1:9/bucket/out.png?X-Amz-Signature=s", outputFormat="PNG")
    response = await client.post("/v1", json=[t])
    assert response.status_code == 200 and "imageURL" in response.json()["data"][0]
    assert await engine.drain(5)
    [call] = receiver.calls
    assert call.method == "PUT" and call.headers["content-type"] == "image/png"
    assert call.url.params["X-Amz-Signature"] == "s"
    assert Image.open(io.BytesIO(call.content)).size == (1024, 1024)
    assert engine.deliveries()[0]["kind"] == "upload"
    await client.aclose()
    await engine.aclose()


async def test_outbound_targets_outside_the_allow_list_are_refused(receiver: Receiver) -> None:
    engine, client = await setup(receiver, outbound_allow=("hooks.example.com",))
    refused = task(webhookURL="https://attacker.example.net/x", uploadEndpoint="http://169.254.169.254/latest")
    response = await client.post("/v1", json=[refused])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["code"], e["parameter"]) for e in errors] == [
        ("forbiddenOutboundTarget", "webhookURL"), ("forbiddenOutboundTarget", "uploadEndpoint")
    ]  # fmt: skip
    assert all(e["taskUUID"] == refused["taskUUID"] for e in errors)
    allowed = await client.post("/v1", json=[task(webhookURL="https://hooks.example.com/x")])
    assert allowed.status_code == 200
    assert await engine.drain(5)
    assert receiver.calls[0].url.host == "hooks.example.com"
    await client.aclose()
    await engine.aclose()


@pytest.mark.parametrize(
    ("url", "ok"),
    [("http://127.0.0.1:8/x", True), ("http://127.5.0.1/x", True), ("http://[::1]:8/x", True),
     ("http://localhost/x", True), ("http://10.0.0.1/x", False), ("http://example.com/", False),
     ("http://hooks.test:81/", True), ("http://hooks.test:82/", False), ("http://[bad/", False)],
)  # fmt: skip
def test_check_target(url: str, ok: bool) -> None:
    assert (check_target(url, ("hooks.test:81",)) is None) is ok


async def test_reset_cancels_pending_deliveries() -> None:
    receiver = Receiver([500] * 10)
    engine, client = await setup(receiver, delivery_attempts=10, delivery_base_delay=5)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/")])
    while not receiver.calls:
        await engine.drain(0.01)
    engine.reset()
    assert await engine.drain(2)
    assert engine.deliveries() == []
    await client.aclose()
    await engine.aclose()


async def test_aclose_cancels_what_does_not_finish_in_the_grace_time() -> None:
    receiver = Receiver([500] * 10)
    engine, client = await setup(receiver, delivery_attempts=10, delivery_base_delay=5)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/")])
    summary = await engine.aclose(grace=0.05)
    assert summary == {"finished": 0, "cancelled": 1}
    await client.aclose()


class GatedReceiver:
    """An async outbound transport whose answers wait for ``release``; it counts calls in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.order: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.order.append(json.loads(request.read())["taskUUID"])
        await self.release.wait()
        self.in_flight -= 1
        return httpx.Response(204)


async def gated_setup(receiver: GatedReceiver, **config: Any) -> tuple[MockEngine, httpx.AsyncClient]:
    cfg = MockConfig(**{"delivery_base_delay": 0.01, **config})
    engine = MockEngine(cfg, outbound_transport=httpx.MockTransport(receiver))
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    auth = {"Authorization": "Bearer k"}
    client = httpx.AsyncClient(transport=transport, base_url="http://m.localhost", headers=auth)
    return engine, client


async def settle(engine: MockEngine, until: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while not until():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_a_backlog_waits_in_order_with_at_most_per_host_in_flight() -> None:
    receiver = GatedReceiver()
    engine, client = await gated_setup(receiver, delivery_per_host=3)
    uuids = [str(uuid.uuid4()) for _ in range(10)]
    for task_uuid in uuids:
        await client.post("/v1", json=[task(taskUUID=task_uuid, webhookURL="http://127.0.0.1:9/hook")])
    await settle(engine, lambda: receiver.in_flight == 3)
    assert engine.pending == 3 + 7  # three pumps busy, seven deliveries queued (no task each)
    receiver.release.set()
    assert await engine.drain(5)
    assert receiver.most_in_flight == 3
    assert receiver.order == uuids  # first in, first out per host
    await client.aclose()
    await engine.aclose()


async def test_queued_deliveries_are_reported_cancelled_at_shutdown() -> None:
    receiver = GatedReceiver()
    engine, client = await gated_setup(receiver, delivery_per_host=1)
    for _ in range(3):
        await client.post("/v1", json=[task(taskUUID=str(uuid.uuid4()), webhookURL="http://127.0.0.1:9/hook")])
    await settle(engine, lambda: receiver.in_flight == 1)
    assert await engine.aclose(grace=0.01) == {"finished": 0, "cancelled": 3}
    outcomes = sorted((d["attempt"], d["outcome"]) for d in engine.deliveries())
    assert outcomes == [(0, "cancelled"), (0, "cancelled"), (1, "cancelled")]
    await client.aclose()


async def test_deliveries_after_a_reset_still_go_out() -> None:
    receiver = GatedReceiver()
    engine, client = await gated_setup(receiver, delivery_per_host=1)
    for _ in range(2):
        await client.post("/v1", json=[task(taskUUID=str(uuid.uuid4()), webhookURL="http://127.0.0.1:9/hook")])
    await settle(engine, lambda: receiver.in_flight == 1)
    engine.reset()  # cancels the busy pump; its cleanup runs later and must not strand new work
    fresh = str(uuid.uuid4())
    await client.post("/v1", json=[task(taskUUID=fresh, webhookURL="http://127.0.0.1:9/hook")])
    receiver.release.set()
    assert await engine.drain(5)
    assert receiver.order[-1] == fresh
    assert [d["outcome"] for d in engine.deliveries() if d["taskUUID"] == fresh] == ["delivered"]
    await client.aclose()
    await engine.aclose()


def test_the_jitter_spreads_waits_over_the_whole_band_and_never_past_it() -> None:
    # delivery_jitter 0.2: each wait is its doubling step times a seeded factor in [0.8, 1.2] (at most 8 s),
    # so many receivers retrying at once do not come back in lockstep, and none waits past the band.
    cfg = MockConfig()
    for attempt, step in [(1, 0.25), (3, 1.0), (5, 4.0)]:
        ratios = [retry_delay(cfg, f"delivery-{n}", attempt) / step for n in range(300)]
        assert all(0.8 <= r <= 1.2 for r in ratios), (attempt, min(ratios), max(ratios))
        assert min(ratios) < 0.83 and max(ratios) > 1.17  # the whole band is used, both ends
    assert all(retry_delay(cfg, f"delivery-{n}", 7) <= 8.0 for n in range(300))  # the cap holds after jitter


async def test_a_dropped_webhook_is_listed_as_the_delivery_it_replaces() -> None:
    # GET /_mock/deliveries lists a dropped webhook with the id, URL, task and image the real delivery carries
    t = task(webhookURL="http://127.0.0.1:9/hook?token=abc")
    sent, kept = Receiver(), Receiver()
    engine, client = await setup(sent)
    await client.post("/v1", json=[t])
    assert await engine.drain(5)
    [delivered] = engine.deliveries()
    dropping, dropping_client = await setup(kept, webhook_drop_rate=1.0)
    await dropping_client.post("/v1", json=[t])
    assert await dropping.drain(5)
    [dropped] = dropping.deliveries()
    assert kept.calls == []
    assert delivered["imageUUID"] is not None
    same = ("deliveryId", "kind", "url", "taskUUID", "imageUUID")
    assert {k: dropped[k] for k in same} == {k: delivered[k] for k in same}
    assert dropped["kind"] == "webhook" and dropped["deliveryId"] == sent.calls[0].headers[DELIVERY_ID_HEADER]
    assert (dropped["outcome"], dropped["attempt"], dropped["statusCode"], dropped["final"]) == (
        "dropped",
        0,
        None,
        True,
    )
    assert dropped["error"] == "dropped by the fault plan (webhook_drop_rate)"
    for c, e in [(client, engine), (dropping_client, dropping)]:
        await c.aclose()
        await e.aclose()


class PerTaskGate:
    """An async outbound transport whose answer to each task's webhook waits for that task's own gate."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.in_flight: list[str] = []
        self.most_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        task_uuid = json.loads(request.read())["taskUUID"]
        self.in_flight.append(task_uuid)
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        await self.gates.setdefault(task_uuid, asyncio.Event()).wait()
        self.in_flight.remove(task_uuid)
        return httpx.Response(204)

    def release(self, task_uuid: str) -> None:
        self.gates.setdefault(task_uuid, asyncio.Event()).set()


async def test_the_per_host_limit_holds_while_a_host_s_deliveries_come_and_go() -> None:
    # delivery_per_host 2: a pump that runs dry frees its place at once, while the other keeps its own
    receiver = PerTaskGate()
    cfg = MockConfig(delivery_base_delay=0.01, delivery_per_host=2)
    engine = MockEngine(cfg, outbound_transport=httpx.MockTransport(receiver))
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    client = httpx.AsyncClient(
        transport=transport, base_url="http://m.localhost", headers={"Authorization": "Bearer k"}
    )
    a, b, c, d, e = (str(uuid.uuid4()) for _ in range(5))

    async def post(*uuids: str) -> None:
        for task_uuid in uuids:
            await client.post("/v1", json=[task(taskUUID=task_uuid, webhookURL="http://127.0.0.1:9/hook")])

    await post(a, b, c)
    await settle(engine, lambda: receiver.in_flight == [a, b])  # c waits its turn
    receiver.release(a)
    await settle(engine, lambda: receiver.in_flight == [b, c])  # a's pump takes c
    receiver.release(b)
    await settle(engine, lambda: engine.pending == 1)  # b's pump ran dry and ended; c's is still busy
    await post(d, e)
    await settle(engine, lambda: receiver.in_flight == [c, d])  # d gets the free place, e waits again
    assert engine.pending == 2 + 1
    for task_uuid in (c, d, e):
        receiver.release(task_uuid)
    assert await engine.drain(5)
    assert receiver.most_in_flight == 2
    delivered = [x["taskUUID"] for x in engine.deliveries() if x["outcome"] == "delivered"]
    assert sorted(delivered) == sorted([a, b, c, d, e])
    f, g = str(uuid.uuid4()), str(uuid.uuid4())
    await post(f, g)  # all pumps ended: the host has both places again
    await settle(engine, lambda: receiver.in_flight == [f, g])
    receiver.release(f)
    receiver.release(g)
    assert await engine.drain(5)
    await client.aclose()
    await engine.aclose()


async def test_every_attempt_is_recorded_with_the_headers_the_receiver_saw() -> None:
    # What GET /_mock/deliveries lists for each attempt, matched against what the receiver got.
    receiver = Receiver([300, None, 204])  # a 3xx is not delivered (redirects are not followed)
    engine, client = await setup(receiver, delivery_attempts=3)
    t = task(webhookURL="http://127.0.0.1:9/hook")
    await client.post("/v1", json=[t])
    assert await engine.drain(5)
    attempts = engine.deliveries()
    image_uuid = json.loads(receiver.calls[-1].content)["imageUUID"]
    delivery_id = receiver.calls[0].headers[DELIVERY_ID_HEADER]
    for call in receiver.calls:
        assert call.headers[DELIVERY_ID_HEADER] == delivery_id
        assert call.headers["Content-Type"] == "application/json"
        assert call.headers["User-Agent"] == "ideogram-remix-kit-mock"
    expected = [
        (1, "failed", 300, "HTTP 300", False),
        (2, "failed", None, "ConnectError: refused", False),
        (3, "delivered", 204, None, True),
    ]
    assert [(a["attempt"], a["outcome"], a["statusCode"], a["error"], a["final"]) for a in attempts] == expected
    for a in attempts:
        assert (a["deliveryId"], a["kind"], a["url"]) == (delivery_id, "webhook", "http://127.0.0.1:9/hook")
        assert (a["taskUUID"], a["imageUUID"]) == (t["taskUUID"], image_uuid)
    await client.aclose()
    await engine.aclose()


async def test_an_error_without_a_message_is_named_by_its_type() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("", request=request)

    engine = MockEngine(MockConfig(delivery_attempts=1), outbound_transport=httpx.MockTransport(silent))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/hook")])
    assert await engine.drain(5)
    assert [(a["outcome"], a["error"]) for a in engine.deliveries()] == [("failed", "ConnectError")]
    await client.aclose()
    await engine.aclose()


async def test_a_delivery_that_gave_up_leaves_nothing_waiting() -> None:
    # after the last attempt there is no retry wait: shutting down is not held up by a hopeless delivery
    receiver = Receiver([500])
    engine, client = await setup(receiver, delivery_attempts=1, delivery_base_delay=60)
    await client.post("/v1", json=[task(webhookURL="http://127.0.0.1:9/hook")])
    assert await engine.drain(5)
    assert [(a["outcome"], a["final"]) for a in engine.deliveries()] == [("failed", True)]
    await client.aclose()
    assert await engine.aclose(0) == {"finished": 0, "cancelled": 0}


async def test_a_url_no_request_can_carry_is_one_final_failed_attempt() -> None:
    # (check_target refuses such URLs before a task runs; the deliverer still never loses or retries one)
    attempts: list[dict[str, Any]] = []
    receiver = Receiver()
    deliverer = Deliverer(lambda: MockConfig(delivery_attempts=3), httpx.MockTransport(receiver))
    url = "http://127.0.0.1:9/\ud800"
    ok = await deliverer.deliver(
        "webhook", "d-1", "POST", url, b"{}", "application/json", "t-1", "i-1", lambda a: attempts.append(a.to_dict())
    )
    await deliverer.aclose()
    assert ok is False and receiver.calls == []
    [attempt] = attempts
    assert (attempt["attempt"], attempt["outcome"], attempt["final"]) == (1, "failed", True)
    assert attempt["error"].startswith("the URL cannot be requested: UnicodeEncodeError: ")
    assert "surrogates not allowed" in attempt["error"]


async def test_shutdown_lists_every_delivery_it_cancels_with_its_ids() -> None:
    receiver = GatedReceiver()
    engine, client = await gated_setup(receiver, delivery_per_host=1)
    tasks = [task(taskUUID=str(uuid.uuid4()), webhookURL="http://127.0.0.1:9/hook") for _ in range(2)]
    for t in tasks:
        await client.post("/v1", json=[t])
    await settle(engine, lambda: receiver.in_flight == 1)
    assert await engine.aclose(grace=0.01) == {"finished": 0, "cancelled": 2}
    by_task = {d["taskUUID"]: d for d in engine.deliveries()}
    assert set(by_task) == {t["taskUUID"] for t in tasks}
    in_flight, queued = (by_task[t["taskUUID"]] for t in tasks)
    assert (in_flight["attempt"], in_flight["error"]) == (1, "shut down before the attempt finished")
    assert (queued["attempt"], queued["error"]) == (0, "shut down before the first attempt")
    for d in (in_flight, queued):
        assert (d["kind"], d["outcome"], d["statusCode"], d["final"]) == ("webhook", "cancelled", None, True)
        assert d["imageUUID"] is not None and d["url"] == "http://127.0.0.1:9/hook"
    assert len({in_flight["deliveryId"], queued["deliveryId"]} - {None}) == 2
    await client.aclose()


def test_check_target_explains_each_refusal() -> None:
    assert check_target("http://127.0.0.1/\ud800", ()) == (
        "The URL holds invalid Unicode (a lone surrogate), so no HTTP request can carry it."
    )
    assert check_target("http:///hook", ()) == "'http:///hook' has no host."
    assert check_target("ftp://127.0.0.1/x", ()) == "'ftp://127.0.0.1/x' is not an http or https URL."


def test_loopback_addresses_count_in_brackets_too() -> None:
    # (a Host header names an IPv6 address in brackets: the guard asks about "[::1]")
    assert is_loopback_address("[::1]") and is_loopback_address("::1") and is_loopback_address("127.0.0.2")
    assert not is_loopback_address("[::2]") and not is_loopback_address("localhost")


async def test_each_retry_waits_its_own_seeded_delay() -> None:
    # the jitter is seeded per delivery: receivers failing together are retried at different times
    cfg = MockConfig(delivery_base_delay=0.1, delivery_jitter=0.5, delivery_attempts=2)

    def fail_first(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(500 if request.headers["X-Delivery-Attempt"] == "1" else 204)

    engine = MockEngine(cfg, outbound_transport=httpx.MockTransport(fail_first))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(engine=engine)),
        base_url="http://mock.localhost",
        headers={"Authorization": "Bearer k"},
    )
    for n in range(16):
        t = task(taskUUID=f"1c6c4f80-2a52-4f6e-9d1c-5a3b9e7d20{n:02d}", webhookURL="http://127.0.0.1:9/hook")
        await client.post("/v1", json=[t])
    assert await engine.drain(5)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for attempt in engine.deliveries():
        by_id.setdefault(attempt["deliveryId"], []).append(attempt)
    assert len(by_id) == 16
    waits = {}
    for delivery_id, (first, second) in by_id.items():
        assert (first["outcome"], second["outcome"]) == ("failed", "delivered")
        waits[delivery_id] = retry_delay(cfg, delivery_id, 1)
        assert second["at"] - first["at"] >= waits[delivery_id] - 0.005, (delivery_id, waits[delivery_id])
    assert min(waits.values()) < 0.07 and max(waits.values()) > 0.135  # spread over the band [0.05, 0.15]
    await client.aclose()
    await engine.aclose()
