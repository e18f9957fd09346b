"""The pytest plugin's fixtures, used as a user's tests use them (the plugin is loaded here too)."""

from __future__ import annotations

import asyncio
import base64
import copy
import importlib.util
import io
import json
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from ideogram_kit import strategies
from ideogram_kit.pytest_support import IdeogramMock, IdeogramServer, IdeogramSettings, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
RUNWARE = "https://api.runware.ai/v1"
AUTH = {"Authorization": "Bearer test-key"}


def make_task(**changes: Any) -> dict[str, Any]:
    task = {**copy.deepcopy(DOCS_EXAMPLE), "taskUUID": str(uuid.uuid4()), **changes}
    return {k: v for k, v in task.items() if v is not None}


def post(*tasks: Any, url: str = RUNWARE, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, json=list(tasks), headers=AUTH, **kwargs)


def test_sync_client_gets_results_and_their_images(ideogram_mock: IdeogramMock) -> None:
    task = make_task(numberResults=2, outputFormat="PNG", width=1280, height=720)
    answer = post(task)

    assert answer.status_code == 200
    items = answer.json()["data"]
    assert [item["taskUUID"] for item in items] == [task["taskUUID"]] * 2
    image = httpx.get(items[0]["imageURL"])
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1280, 720)
    assert ideogram_mock.tasks == [task]
    assert ideogram_mock.image_tasks == [task]
    assert [r["imageUUID"] for r in ideogram_mock.results] == [item["imageUUID"] for item in items]
    assert ideogram_mock.requests[0]["status"] == 200
    assert ideogram_mock.runs[0]["status"] == "success"
    assert ideogram_mock.invalid == []


@pytest.mark.anyio
async def test_async_clients_run_concurrently(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.set_latency(0.2)
    tasks = [make_task() for _ in range(5)]
    async with httpx.AsyncClient(headers=AUTH) as client:
        answers = await asyncio.gather(*(client.post(RUNWARE, json=[task]) for task in tasks))
        image = await client.get(answers[0].json()["data"][0]["imageURL"])

    assert [a.status_code for a in answers] == [200] * 5
    assert image.content[:3] == b"\xff\xd8\xff"
    # All five were in flight together: each had started before the first one finished.
    runs = ideogram_mock.runs
    assert max(run["createdAt"] for run in runs) < min(run["finishedAt"] for run in runs)


def test_async_delivery_and_polling(ideogram_mock: IdeogramMock) -> None:
    task = make_task(deliveryMethod="async", outputType="base64Data")
    assert post(task).json()["data"] == [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]
    ideogram_mock.drain()

    state = post({"taskType": "getResponse", "taskUUID": task["taskUUID"]}).json()
    assert state["data"][0]["status"] == "success"
    assert base64.b64decode(state["data"][0]["imageBase64Data"])[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("code", "status"),
    [("providerError", 500), ("timeoutProvider", 504), ("rateLimitExceeded", 429), ("rateLimited", 429),
     ("insufficientCredits", 402), ("forbidden", 403), ("serviceUnavailable", 503), ("queueTimeout", 504),
     ("invalidApiKey", 401)],
)  # fmt: skip
def test_fail_next_fails_once_then_the_mock_recovers(ideogram_mock: IdeogramMock, code: str, status: int) -> None:
    ideogram_mock.fail_next(code)

    failed = post(make_task())
    wire_code = "rateLimitExceeded" if code == "rateLimited" else code  # the kit's old name still works
    assert (failed.status_code, failed.json()["errors"][0]["code"]) == (status, wire_code)
    assert failed.json()["data"] == []
    if wire_code == "rateLimitExceeded":
        assert failed.headers["Retry-After"] == "1"
        assert "injected" in failed.json()["errors"][0]["message"]
    assert post(make_task()).status_code == 200
    assert [r["status"] for r in ideogram_mock.requests] == [status, 200]


def test_fail_next_rejects_codes_it_cannot_inject(ideogram_mock: IdeogramMock) -> None:
    with pytest.raises(ValueError, match="unknown code 'outOfRange'; use one of providerError, timeoutProvider"):
        ideogram_mock.fail_next("outOfRange")


def test_respond_with_changes_the_next_results(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.respond_with({"NSFWContent": True, "cost": 0.5})
    first = post(make_task(numberResults=2)).json()["data"]
    second = post(make_task()).json()["data"]

    assert [(item["NSFWContent"], item["cost"]) for item in first] == [(True, 0.5)] * 2
    assert "NSFWContent" not in second[0]

    ideogram_mock.respond_with(lambda task, item: {**item, "seed": task["width"]}, times=None)
    assert [post(make_task()).json()["data"][0]["seed"] for _ in range(2)] == [1024, 1024]


def test_set_seed_changes_images_and_seeds(ideogram_mock: IdeogramMock) -> None:
    task = make_task()
    first = post(task).json()["data"][0]
    ideogram_mock.reset()
    ideogram_mock.set_seed(7)
    again = post(task).json()["data"][0]

    assert first["seed"] != again["seed"]
    assert httpx.get(first["imageURL"]).status_code == 404  # forgotten by the reset
    assert ideogram_mock.configure().seed == 7


def test_latency_past_the_client_timeout_is_a_read_timeout(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.set_latency(30)
    with pytest.raises(httpx.ReadTimeout, match=r"did not answer within 0\.05 s"):
        post(make_task(), timeout=0.05)


@pytest.mark.anyio
async def test_latency_past_the_async_client_timeout_is_a_read_timeout(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.set_latency(30)
    async with httpx.AsyncClient(headers=AUTH, timeout=0.05) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(RUNWARE, json=[make_task()])


@pytest.mark.ideogram(seed=7, fail_next="providerError", latency=(0.01, 0.02), cost_per_image=0.5)
def test_marker_settings_apply(ideogram_mock: IdeogramMock, ideogram_settings: IdeogramSettings) -> None:
    config = ideogram_settings.config
    assert (config.seed, config.latency_min, config.latency_max) == (7, 0.01, 0.02)
    assert post(make_task()).status_code == 500
    assert post(make_task(includeCost=True)).json()["data"][0]["cost"] == 0.5
    assert all(0.01 <= run["latency"] <= 0.02 for run in ideogram_mock.runs)


def test_a_base_url_must_be_absolute_http() -> None:
    with pytest.raises(ValueError, match=r"base URL 'ftp://files\.test/v1' must be an absolute http"):
        IdeogramMock(IdeogramSettings(base_urls=("ftp://files.test/v1",)))


@pytest.mark.ideogram(base_url="http://gateway.test/runware/v1")
def test_a_configured_base_url_with_a_path_prefix(ideogram_mock: IdeogramMock) -> None:
    item = post(make_task(), url="http://gateway.test/runware/v1").json()["data"][0]

    assert item["imageURL"].startswith("http://gateway.test/runware/images/")
    assert httpx.get(item["imageURL"]).status_code == 200
    assert ideogram_mock.base_urls == [RUNWARE, "http://gateway.test/runware/v1"]
    assert post(make_task()).status_code == 200  # Runware's own URL still works


@pytest.mark.ideogram(delivery_base_delay=0.001, latency=0.001)
def test_webhooks_and_uploads_are_recorded_not_sent(ideogram_mock: IdeogramMock) -> None:
    answers = iter([500, None, None])
    ideogram_mock.on_webhook(lambda request: next(answers) if request.method == "POST" else httpx.Response(201))
    hook = "https://app.example/hooks/runware?token=s3cret"  # not loopback: fine, nothing leaves the process
    task = make_task(webhookURL=hook, uploadEndpoint="https://bucket.example/remix.jpg")

    assert post(task).status_code == 200
    ideogram_mock.drain()

    assert [(d["kind"], d["outcome"]) for d in ideogram_mock.deliveries if d["kind"] == "webhook"] == [
        ("webhook", "failed"),
        ("webhook", "delivered"),
    ]
    assert [body["taskUUID"] for body in ideogram_mock.webhooks] == [task["taskUUID"]] * 2
    (upload,) = [r for r in ideogram_mock.outbound if r.method == "PUT"]
    assert (str(upload.url), upload.content[:3]) == ("https://bucket.example/remix.jpg", b"\xff\xd8\xff")
    assert [(d["kind"], d["statusCode"]) for d in ideogram_mock.deliveries if d["kind"] == "upload"] == [
        ("upload", 201)
    ]


def test_other_hosts_are_left_alone(ideogram_mock: IdeogramMock, ideogram_webhook_receiver: WebhookReceiver) -> None:
    assert httpx.post(ideogram_webhook_receiver.url_for("/direct"), content=b"hi").status_code == 200
    assert [d.body for d in ideogram_webhook_receiver.deliveries] == [b"hi"]
    assert ideogram_mock.requests == []


def test_works_beside_a_users_respx_mock(ideogram_mock: IdeogramMock, respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://other.example/status").respond(204)

    assert httpx.get("https://other.example/status").status_code == 204
    assert post(make_task()).status_code == 200
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.get("https://unmocked.example/")


@pytest.mark.anyio
async def test_async_clients_beside_a_users_respx_mock(
    ideogram_mock: IdeogramMock, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get("https://other.example/status").respond(204)
    async with httpx.AsyncClient(headers=AUTH) as client:
        assert (await client.get("https://other.example/status")).status_code == 204
        assert (await client.post(RUNWARE, json=[make_task()])).status_code == 200
        with pytest.raises(respx.models.AllMockedAssertionError):
            await client.get("https://unmocked.example/")


def test_stop_cancels_pending_work_and_ends_the_thread() -> None:
    with IdeogramMock() as mock:
        mock.set_latency(30)
        post(make_task(deliveryMethod="async"))
        assert mock.runs[0]["status"] == "processing"
        thread = mock._thread().thread

    assert not thread.is_alive()
    assert mock.engine.pending == 0
    with pytest.raises(RuntimeError, match="not started"):
        mock.requests  # noqa: B018 - the property reads the engine


@pytest.mark.ideogram(allow_invalid=True)  # the form-declared request below is refused on purpose
def test_the_live_server_answers_plain_urllib(ideogram_server: IdeogramServer) -> None:
    # urllib declares a body without Content-Type as a form: the mock refuses that, as Runware
    # documents application/json, and says how to fix it
    data = json.dumps([make_task()]).encode()
    request = urllib.request.Request(ideogram_server.base_url, data=data, headers=AUTH, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 415 and b"Content-Type: application/json" in refused.value.read()
    request = urllib.request.Request(
        ideogram_server.base_url, data=data, headers={**AUTH, "Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        item = json.loads(answer.read())["data"][0]
    with urllib.request.urlopen(item["imageURL"], timeout=10) as image:
        assert image.read()[:3] == b"\xff\xd8\xff"

    assert item["imageURL"].startswith(ideogram_server.url + "/images/")
    assert ideogram_server.ws_url == "ws" + ideogram_server.url.removeprefix("http") + "/v1"
    assert [r["status"] for r in ideogram_server.requests] == [415, 200]
    assert ideogram_server.results == [item]


@pytest.mark.ideogram(delivery_base_delay=0.001)
def test_the_live_server_delivers_to_the_receiver_with_retries(
    ideogram_server: IdeogramServer, ideogram_webhook_receiver: WebhookReceiver
) -> None:
    ideogram_webhook_receiver.fail_next(2)
    task = make_task(webhookURL=ideogram_webhook_receiver.url_for("/hook?token=t"))
    assert post(task, url=ideogram_server.base_url).status_code == 200

    (delivery,) = ideogram_webhook_receiver.wait_for(1)
    ideogram_server.drain()

    assert (delivery.path, delivery.query, delivery.json()["taskUUID"]) == (
        "/hook",
        {"token": ["t"]},
        task["taskUUID"],
    )
    assert [r.status for r in ideogram_webhook_receiver.received] == [500, 500, 200]
    assert list(ideogram_webhook_receiver) == [delivery]
    assert ideogram_webhook_receiver.webhooks == [delivery.json()]
    assert [d["attempt"] for d in ideogram_server.deliveries] == [1, 2, 3]


def test_the_live_server_knobs(ideogram_server: IdeogramServer) -> None:
    ideogram_server.fail_next("timeoutProvider")
    ideogram_server.respond_with({"cost": 9.0})
    ideogram_server.set_seed(3)

    assert post(make_task(), url=ideogram_server.base_url).status_code == 504
    assert post(make_task(), url=ideogram_server.base_url).json()["data"][0]["cost"] == 9.0
    assert ideogram_server.configure(latency_min=0.0).seed == 3
    with pytest.raises(ValueError, match="unknown setting 'nope'"):
        ideogram_server.configure(nope=1)
    ideogram_server.reset()
    assert (ideogram_server.requests, ideogram_server.runs) == ([], [])


RUNWARE_SDK_MISSING = importlib.util.find_spec("runware") is None


@pytest.mark.skipif(
    RUNWARE_SDK_MISSING,
    reason="runware-sdk is not installed in this venv (tests/test_sdk_runware_sdk.py runs it in a throw-away venv)",
)
@pytest.mark.ideogram(allow_invalid=True)
def test_the_runware_sdk_rest_client_against_the_live_server(ideogram_server: IdeogramServer) -> None:
    from runware import Runware, RunwareError  # type: ignore[import-not-found, unused-ignore]

    task = make_task(numberResults=2, deliveryMethod="sync")

    async def main() -> list[Any]:
        async with Runware(
            api_key="test-key", transport="rest", http_base_url=ideogram_server.base_url, max_retries=0
        ) as client:
            results = await client.run(task)
            with pytest.raises(RunwareError) as refused:
                await client.run(make_task(providerSettings={"ideogram": {"remixStrength": 500}}))
            assert refused.value.parameter == "providerSettings.ideogram.remixStrength"
            return list(results)

    results = asyncio.run(main())
    assert sorted(r["imageUUID"] for r in results) == sorted(r["imageUUID"] for r in ideogram_server.results)
    assert [e.code for e in ideogram_server.invalid] == ["invalidRemixStrength"]


def test_the_strategies_are_reexported() -> None:
    from ideogram_kit import plugin

    assert sorted(plugin._STRATEGIES) == sorted(strategies.__all__)
    assert plugin.valid_tasks is strategies.valid_tasks
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        plugin.nothing  # noqa: B018


def test_the_receiver_records_every_attempt_and_its_waits_say_what_they_count() -> None:
    receiver = WebhookReceiver().start()
    try:
        receiver.fail_next(2, status=503)
        hook = receiver.url_for("/hook?token=t")
        statuses = [httpx.post(hook, content=b"x", headers={"X-Token": f"{n}"}).status_code for n in range(3)]

        assert statuses == [503, 503, 200]
        attempts = receiver.attempts
        assert [(a.status, a.accepted, a.headers["x-token"]) for a in attempts] == [
            (503, False, "0"),
            (503, False, "1"),
            (200, True, "2"),
        ]
        assert isinstance(attempts[0].headers, httpx.Headers)
        assert attempts[2].headers["X-TOKEN"] == attempts[2].headers["x-token"] == "2"
        assert receiver.refused == attempts[:2]
        assert receiver.deliveries == attempts[2:] == list(receiver)
        assert receiver.received == attempts  # the old name
        assert receiver.wait_for(3, count="attempts") == attempts
        assert receiver.wait_for(1) == receiver.wait_for(1, count="accepted") == attempts[2:]

        with pytest.raises(TimeoutError) as accepted:
            receiver.wait_for(2, timeout=0.01)
        assert str(accepted.value) == (
            "1 of 2 accepted deliveries arrived within 0.01 s: "
            "3 attempts in all, 1 accepted, 2 refused (answered 503, 503)"
        )
        with pytest.raises(TimeoutError) as tried:
            receiver.wait_for(4, timeout=0.01, count="attempts")
        assert str(tried.value) == (
            "3 of 4 attempts arrived within 0.01 s: 3 attempts in all, 1 accepted, 2 refused (answered 503, 503)"
        )
        with pytest.raises(ValueError, match="count must be 'accepted' or 'attempts', got 'delivered'"):
            receiver.wait_for(1, count="delivered")  # type: ignore[arg-type]
    finally:
        receiver.stop()
    assert not any(t.name == "ideogram-webhook-receiver" for t in threading.enumerate())


def test_the_receiver_times_out_naming_what_arrived() -> None:
    receiver = WebhookReceiver().start()
    try:
        with pytest.raises(TimeoutError, match=r"^0 of 1 accepted deliveries arrived within 0\.01 s: 0 attempts"):
            receiver.wait_for(1, timeout=0.01)
    finally:
        receiver.stop()


@pytest.mark.ideogram(delivery_base_delay=0.001, latency=0)
def test_the_delivery_log_already_shows_what_the_receiver_saw(
    ideogram_server: IdeogramServer, ideogram_webhook_receiver: WebhookReceiver
) -> None:
    # The receiver answers an attempt before the mock reads that answer and logs the attempt: without
    # the plugin's settling, the log read right after wait_for() misses the last attempt now and then.
    for n in range(1, 21):
        if n % 3 == 0:
            ideogram_webhook_receiver.fail_next(1)  # a refused attempt, then its retry
        task = make_task(webhookURL=ideogram_webhook_receiver.url_for(f"/hook/{n}"))
        assert post(task, url=ideogram_server.base_url).status_code == 200

        ideogram_webhook_receiver.wait_for(n)
        logged = [(d["deliveryId"], d["attempt"], d["statusCode"]) for d in ideogram_server.deliveries]
        seen = [
            (a.headers["X-Delivery-ID"], int(a.headers["X-Delivery-Attempt"]), a.status)
            for a in ideogram_webhook_receiver.attempts
        ]
        assert logged == seen, n


@pytest.mark.ideogram(seed=5)
def test_reset_puts_the_tests_settings_back_unless_told_to_keep_them(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.configure(seed=7, latency_min=0.5)
    ideogram_mock.reset(keep_config=True)
    assert (ideogram_mock.engine.config.seed, ideogram_mock.engine.config.latency_min) == (7, 0.5)

    ideogram_mock.reset()
    assert (ideogram_mock.engine.config.seed, ideogram_mock.engine.config.latency_min) == (5, 0.0)  # the marker's


def test_the_live_servers_reset_puts_the_sessions_settings_back(ideogram_server: IdeogramServer) -> None:
    start = ideogram_server.configure()
    ideogram_server.configure(seed=start.seed + 1)
    ideogram_server.reset(keep_config=True)
    assert ideogram_server.configure().seed == start.seed + 1

    ideogram_server.reset()
    assert ideogram_server.configure().seed == start.seed
