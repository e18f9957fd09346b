"""The mock's REST protocol, in process through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ideogram_kit import schemas
from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.openapi import openapi_document

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_task(**changes: Any) -> dict[str, Any]:
    task = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), **changes}
    return {k: v for k, v in task.items() if v is not None}


def inline_image(color: tuple[int, int, int], fmt: str = "PNG") -> str:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, fmt)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def engine(clock: FakeClock) -> AsyncIterator[MockEngine]:
    eng = MockEngine(MockConfig(), clock=clock)
    yield eng
    await eng.aclose(grace=0)


@pytest.fixture
async def client(engine: MockEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.localhost", headers=AUTH) as c:
        yield c


async def post(client: httpx.AsyncClient, *tasks: Any, **kwargs: Any) -> httpx.Response:
    return await client.post("/v1", json=list(tasks), **kwargs)


async def image_of(client: httpx.AsyncClient, item: dict[str, Any]) -> Image.Image:
    if "imageURL" in item:
        response = await client.get(item["imageURL"])
        assert response.status_code == 200
        data = response.content
    elif "imageDataURI" in item:
        data = base64.b64decode(item["imageDataURI"].partition(",")[2])
    else:
        data = base64.b64decode(item["imageBase64Data"])
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- sync results ------------------------------------------------------------------------------------


async def test_docs_example_gives_a_real_jpeg_url(client: httpx.AsyncClient) -> None:
    task = make_task()
    response = await post(client, task)
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert set(item) == {"taskType", "taskUUID", "imageUUID", "imageURL", "seed"}
    assert item["taskUUID"] == task["taskUUID"]
    assert item["imageURL"] == f"http://mock.localhost/images/{item['imageUUID']}.jpg"
    download = await client.get(item["imageURL"])
    assert download.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(download.content))
    assert (image.format, image.size) == ("JPEG", (1024, 1024))


async def test_number_results_gives_distinct_images_and_seeds(client: httpx.AsyncClient) -> None:
    response = await post(client, make_task(numberResults=3, width=512, height=1536))
    items = response.json()["data"]
    assert len(items) == 3
    assert len({i["imageUUID"] for i in items}) == len({i["seed"] for i in items}) == 3
    images = [await image_of(client, i) for i in items]
    assert all(img.size == (512, 1536) for img in images)
    assert len({img.tobytes() for img in images}) == 3


@pytest.mark.parametrize(
    ("output_type", "field"), [("URL", "imageURL"), ("base64Data", "imageBase64Data"), ("dataURI", "imageDataURI")]
)
@pytest.mark.parametrize(("output_format", "pillow"), [("JPG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP")])
async def test_output_type_and_format(
    client: httpx.AsyncClient, output_type: str, field: str, output_format: str, pillow: str
) -> None:
    task = make_task(outputType=output_type, outputFormat=output_format, width=768, height=1232)
    [item] = (await post(client, task)).json()["data"]
    assert field in item
    image = await image_of(client, item)
    assert (image.format, image.size) == (pillow, (768, 1232))
    if output_type == "dataURI":
        mime = {"JPG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[output_format]
        assert item[field].startswith(f"data:{mime};base64,")


async def test_output_quality_is_honoured(client: httpx.AsyncClient) -> None:
    sizes = {}
    for quality in (20, 99):
        task = make_task(taskUUID=DOCS_EXAMPLE["taskUUID"], outputType="base64Data", outputQuality=quality)
        [item] = (await post(client, task)).json()["data"]
        sizes[quality] = len(item["imageBase64Data"])
        await client.post("/_mock/reset", json={})
    assert sizes[20] < sizes[99] / 2


async def test_cost_and_nsfw_only_when_asked(client: httpx.AsyncClient) -> None:
    [plain] = (await post(client, make_task())).json()["data"]
    assert "cost" not in plain and "NSFWContent" not in plain
    [item] = (await post(client, make_task(includeCost=True, safety={"checkContent": True}))).json()["data"]
    assert item["NSFWContent"] is False and item["cost"] == MockConfig().cost_per_image
    [off] = (await post(client, make_task(safety={"checkContent": True, "mode": "none"}))).json()["data"]
    assert "NSFWContent" not in off


async def test_same_task_same_bytes_after_reset_and_other_seed_differs(client: httpx.AsyncClient) -> None:
    task = make_task(outputType="base64Data", width=1024, height=768)
    first = (await post(client, task)).json()["data"][0]
    assert (await post(client, task)).json()["errors"][0]["code"] == "conflictTaskUUID"
    await client.post("/_mock/reset", json={})
    again = (await post(client, task)).json()["data"][0]
    assert again == first
    other = MockEngine(MockConfig(seed=7))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine=other)), headers=AUTH) as c:
        changed = (await c.post("http://x.localhost/v1", json=[task])).json()["data"][0]
    assert changed["seed"] != first["seed"] and changed["imageBase64Data"] != first["imageBase64Data"]


async def test_inline_reference_is_decoded_and_drives_the_picture(client: httpx.AsyncClient) -> None:
    def mean(image: Image.Image) -> tuple[float, ...]:
        small = image.convert("RGB").resize((1, 1), Image.Resampling.BOX)
        return tuple(small.getpixel((0, 0)))  # type: ignore[arg-type]

    ideogram = {"remixStrength": 1}
    red = make_task(inputs={"referenceImages": [inline_image((250, 10, 10))]}, providerSettings={"ideogram": ideogram})
    blue = make_task(inputs={"referenceImages": [inline_image((10, 10, 250))]}, providerSettings={"ideogram": ideogram})
    [r] = (await post(client, red)).json()["data"]
    [b] = (await post(client, blue)).json()["data"]
    red_mean, blue_mean = mean(await image_of(client, r)), mean(await image_of(client, b))
    assert red_mean[0] > red_mean[2] and blue_mean[2] > blue_mean[0]


async def test_earlier_result_can_be_remixed_by_uuid_or_url(client: httpx.AsyncClient) -> None:
    [first] = (await post(client, make_task())).json()["data"]
    for ref in (first["imageUUID"], first["imageURL"]):
        response = await post(client, make_task(inputs={"referenceImages": [ref]}))
        assert response.status_code == 200


async def test_undecodable_inline_reference_uses_a_stand_in(client: httpx.AsyncClient) -> None:
    task = make_task(inputs={"referenceImages": [base64.b64encode(b"not an image").decode()]})
    assert (await post(client, task)).status_code == 200


# -- auth, batches and status codes --------------------------------------------------------------------


async def test_missing_and_invalid_keys_are_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1", json=[make_task()], headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "missingApiKey"
    response = await client.post("/v1", json=[make_task()], headers={"Authorization": "Bearer invalid"})
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "invalidApiKey")
    body = [{"taskType": "authentication", "apiKey": "invalid"}, make_task()]
    response = await client.post("/v1", json=body, headers={"Authorization": ""})
    assert response.status_code == 401
    response = await client.post("/v1", content=b"{", headers={"Authorization": "Bearer invalid"})
    assert response.status_code == 401


async def test_authentication_task_instead_of_header(client: httpx.AsyncClient) -> None:
    body = [{"taskType": "authentication", "apiKey": "k"}, make_task()]
    response = await client.post("/v1", json=body, headers={"Authorization": ""})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


async def test_configured_keys_only(engine: MockEngine, client: httpx.AsyncClient) -> None:
    engine.configure({"apiKeys": ["good"]})
    assert (await post(client, make_task(), headers={"Authorization": "Bearer good"})).status_code == 200
    assert (await post(client, make_task())).status_code == 401


async def test_batch_keeps_order_and_tags_errors(client: httpx.AsyncClient) -> None:
    good, bad, ping = make_task(), make_task(width=1000), {"taskType": "ping", "ping": True}
    response = await post(client, good, bad, ping)
    assert response.status_code == 200
    body = response.json()
    assert [d.get("taskUUID", d["taskType"]) for d in body["data"]] == [good["taskUUID"], "ping"]
    assert body["data"][1] == {"taskType": "ping", "pong": True}
    [error] = body["errors"]
    assert (error["code"], error["taskUUID"], error["parameter"]) == ("unsupportedDimensions", bad["taskUUID"], "width")


async def test_all_invalid_is_400(client: httpx.AsyncClient) -> None:
    bad = make_task(providerSettings={"ideogram": {"remixStrength": 150}})
    response = await post(client, bad, make_task(model="runware:100@1"))
    assert response.status_code == 400
    body = response.json()
    assert body["data"] == []  # Runware's REST error bodies carry "data": [] beside errors
    first = body["errors"][0]
    assert (first["code"], first["parameter"], first["min"], first["max"]) == (
        "invalidRemixStrength", "providerSettings.ideogram.remixStrength", 1, 100
    )  # fmt: skip
    assert body["errors"][1]["code"] == "invalidModel"


@pytest.mark.parametrize("body", [b"", b"{", b"[NaN]", b"[]", b'{"taskType": "ping"}', b"[1]"])
async def test_malformed_bodies_are_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/v1", content=body)  # the client sends a valid key in its header
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidRequestBody"


async def test_body_over_the_limit_is_413(engine: MockEngine, client: httpx.AsyncClient) -> None:
    engine.configure({"maxBodyBytes": 1000})
    big = make_task(positivePrompt="x" * 1500)
    response = await post(client, big)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (413, "payloadTooLarge")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"[" + b" " * 800
        yield b" " * 800 + b"]"

    response = await client.post("/v1", content=chunks())
    assert response.status_code == 413


async def test_rate_limit_gives_429_with_retry_after(
    engine: MockEngine, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    engine.configure({"rateLimit": 2, "rateWindow": 10})
    assert [(await post(client, {"taskType": "ping"})).status_code for _ in range(3)] == [200, 200, 429]
    limited = await post(client, {"taskType": "ping"})
    assert limited.headers["retry-after"] == "10"
    assert limited.json()["errors"][0]["code"] == "rateLimitExceeded"
    clock.now += 10
    assert (await post(client, {"taskType": "ping"})).status_code == 200


# -- async delivery and polling ------------------------------------------------------------------------


async def poll(client: httpx.AsyncClient, task_uuid: str) -> httpx.Response:
    return await post(client, {"taskType": "getResponse", "taskUUID": task_uuid})


async def test_async_ack_then_processing_then_success(engine: MockEngine, client: httpx.AsyncClient) -> None:
    engine.configure({"latencyMin": 0.3, "latencyMax": 0.3})
    task = make_task(deliveryMethod="async", numberResults=2)
    started = time.monotonic()
    ack = await post(client, task)
    assert time.monotonic() - started < 0.25
    assert ack.json() == {"data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]}
    first = (await poll(client, task["taskUUID"])).json()["data"]
    assert first == [{"taskType": "imageInference", "taskUUID": task["taskUUID"], "status": "processing"}]
    run = engine.task(task["taskUUID"])
    assert run is not None
    await run.wait()
    done = (await poll(client, task["taskUUID"])).json()["data"]
    assert [d["status"] for d in done] == ["success", "success"]
    assert all("imageURL" in d for d in done)


async def test_stream_yields_each_image_as_it_is_ready(engine: MockEngine) -> None:
    engine.configure({"latencyMin": 0.2, "latencyMax": 0.2})
    run = engine.submit(make_task(numberResults=2), base_url="http://mock.localhost/")
    started = time.monotonic()
    seen = []
    async for item in run.stream():
        seen.append((item["imageUUID"], time.monotonic() - started))
    assert len(seen) == 2 and seen[0][1] < seen[1][1]


async def test_get_response_for_unknown_and_forgotten_tasks(
    engine: MockEngine, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    unknown = await poll(client, str(uuid.uuid4()))
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["code"] == "taskNotFound"
    engine.configure({"retention": 60})
    task = make_task()
    await post(client, task)
    clock.now += 59
    assert (await poll(client, task["taskUUID"])).status_code == 200
    clock.now += 2
    assert (await poll(client, task["taskUUID"])).json()["errors"][0]["code"] == "taskNotFound"
    assert engine.tasks() == []


async def test_max_tasks_bounds_memory(engine: MockEngine, client: httpx.AsyncClient) -> None:
    engine.configure({"maxTasks": 3, "maxImages": 2})
    for _ in range(6):
        await post(client, make_task())
    assert len(engine.tasks()) == 3


async def test_url_stops_serving_after_ttl(client: httpx.AsyncClient, clock: FakeClock) -> None:
    [item] = (await post(client, make_task(ttl=60))).json()["data"]
    assert (await client.get(item["imageURL"])).status_code == 200
    clock.now += 61
    gone = await client.get(item["imageURL"])
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "imageNotFound"
    assert (await client.get("/images/nothing.jpg")).status_code == 404


# -- faults ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "code", "status"), [("failureRate", "providerError", 500),
                                                         ("timeoutRate", "timeoutProvider", 504)])  # fmt: skip
async def test_injected_failures(
    engine: MockEngine, client: httpx.AsyncClient, setting: str, code: str, status: int
) -> None:
    engine.configure({setting: 1.0})
    task = make_task()
    response = await post(client, task)
    assert response.status_code == status
    assert response.json()["errors"][0] == {
        "code": code, "message": response.json()["errors"][0]["message"],
        "taskType": "imageInference", "taskUUID": task["taskUUID"],
    }  # fmt: skip
    mixed = await post(client, make_task(), {"taskType": "ping"})
    assert mixed.status_code == 200
    queued = make_task(deliveryMethod="async")
    await post(client, queued)
    await engine.drain(5)
    polled = (await poll(client, queued["taskUUID"])).json()
    assert polled["errors"][0]["status"] == "error" and polled["errors"][0]["code"] == code


async def fault_sequence(seed: int) -> list[int]:
    eng = MockEngine(MockConfig(seed=seed, failure_rate=0.3, timeout_rate=0.2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine=eng)), headers=AUTH) as c:
        statuses = [(await c.post("http://m.localhost/v1", json=[make_task()])).status_code for _ in range(20)]
    await eng.aclose(grace=0)
    return statuses


async def test_same_seed_same_fault_sequence() -> None:
    first, again, other = await fault_sequence(1), await fault_sequence(1), await fault_sequence(2)
    assert first == again and first != other
    assert {200, 500, 504} <= set(first)


async def test_latency_distribution(engine: MockEngine) -> None:
    engine.configure({"latencyMin": 0.05, "latencyMax": 0.15})
    runs = [engine.submit(make_task(), base_url="http://m.test/") for _ in range(5)]
    latencies = [r.fate.latency for r in runs]
    assert all(0.05 <= x <= 0.15 for x in latencies) and len(set(latencies)) == 5
    await asyncio.gather(*(r.wait() for r in runs))


# -- inspection and description ---------------------------------------------------------------------------


async def test_inspection_routes(engine: MockEngine, client: httpx.AsyncClient) -> None:
    good, bad = make_task(), make_task(width=1)
    await post(client, good, bad)
    [entry] = (await client.get("/_mock/requests")).json()
    assert entry["status"] == 200
    assert [t["valid"] for t in entry["tasks"]] == [True, False]
    assert entry["tasks"][1]["errors"][0]["code"] == "unsupportedDimensions"
    tasks = (await client.get("/_mock/tasks")).json()
    assert [t["taskUUID"] for t in tasks] == [good["taskUUID"]] and tasks[0]["status"] == "success"
    assert (await client.get(f"/_mock/tasks/{good['taskUUID']}")).json()["completed"] == 1
    assert (await client.get(f"/_mock/tasks/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/_mock/deliveries")).json() == []
    changed = await client.patch("/_mock/config", json={"failureRate": 0.5, "latency_max": 0.01})
    assert changed.json()["failure_rate"] == 0.5
    assert (await client.get("/_mock/config")).json()["latency_max"] == 0.01
    assert (await client.patch("/_mock/config", json={"nope": 1})).status_code == 400
    assert (await client.patch("/_mock/config", json={"failureRate": 2})).status_code == 400
    kept = await client.post("/_mock/reset?keepConfig=true", json={})
    assert kept.json()["config"]["failure_rate"] == 0.5 and engine.config.failure_rate == 0.5
    assert (await client.get("/_mock/requests")).json() == []
    assert (await client.post("/_mock/reset?keepConfig=maybe", json={})).status_code == 400
    await client.patch("/_mock/config", json={"requestFailureRate": 1.0})
    assert (await post(client, make_task())).status_code == 503
    back = await client.post("/_mock/reset", json={})  # forget everything: settings back to the start-up config
    assert back.json()["config"]["failure_rate"] == 0.0 and engine.config.failure_rate == 0.0
    assert engine.config.latency_max == MockConfig().latency_max
    assert (await post(client, make_task())).status_code == 200  # the queued fault went too


async def test_config_with_only_a_minimum_latency_moves_the_maximum(client: httpx.AsyncClient) -> None:
    answer = await client.patch("/_mock/config", json={"latencyMin": 0.05})
    assert answer.status_code == 200
    assert answer.json()["latency_min"] == answer.json()["latency_max"] == 0.05
    lower = await client.patch("/_mock/config", json={"latencyMax": 0.01})
    assert lower.status_code == 400 and "latency_max" in lower.json()["error"]
    assert MockConfig(latency_min=2).latency_max == 2  # in Python too


async def test_the_http_parser_is_chosen_at_start_up_only(client: httpx.AsyncClient, engine: MockEngine) -> None:
    refused = await client.patch("/_mock/config", json={"http": "h11"})
    assert refused.status_code == 400 and "http is read when the server starts" in refused.json()["error"]
    assert engine.config.http == "auto"
    assert (await client.patch("/_mock/config", json={"http": "auto"})).status_code == 200  # unchanged: fine


async def test_openapi_describes_v1_and_mock_routes(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert {"/v1", "/images/{name}", "/_mock/requests", "/_mock/tasks", "/_mock/deliveries", "/_mock/reset",
            "/_mock/config"} <= set(doc["paths"])  # fmt: skip
    post_v1 = doc["paths"]["/v1"]["post"]
    assert post_v1["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/request"}
    assert {"200", "400", "401", "413", "429", "500", "504"} <= set(post_v1["responses"])
    assert doc["components"]["schemas"]["response"] == schemas.load("response")
    assert doc == openapi_document()


async def test_every_response_is_checked(_mock_envelopes_match_response_schema: list[str]) -> None:
    """The suite-wide fixture catches a body the response schema rejects."""
    from ideogram_mock import protocol

    protocol.encode({"data": [{"taskType": "imageInference"}]})
    assert _mock_envelopes_match_response_schema
    _mock_envelopes_match_response_schema.clear()


def test_create_app_takes_config_or_engine() -> None:
    with pytest.raises(ValueError, match="either"):
        create_app(MockConfig(), engine=MockEngine())
    assert create_app().state.engine.config == MockConfig()


async def test_a_client_leaving_mid_body_is_not_a_server_error() -> None:
    app = create_app(MockConfig())
    sent: list[dict[str, Any]] = []
    messages = iter(
        [
            {"type": "http.request", "body": b'[{"taskType": "pi', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1", "raw_path": b"/v1", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"mock.localhost"), (b"authorization", b"Bearer k")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await app(scope, receive, send)  # raised ClientDisconnect (a 500 and a traceback) before
    assert sent[0]["status"] == 400


async def test_the_request_log_keeps_no_large_image_data(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1", json=[make_task(outputType="base64Data", numberResults=3)])
    results = response.json()["data"]
    assert all(len(item["imageBase64Data"]) > 10_000 for item in results)  # the answer has the images
    [entry] = (await client.get("/_mock/requests")).json()
    logged = entry["response"]["data"]
    assert [item["imageBase64Data"] for item in logged] == [
        f"(omitted from the log: {len(item['imageBase64Data'])} characters)" for item in results
    ]
    assert len(json.dumps(entry)) < 5_000  # the log's memory is bounded by its entry count
    image = await client.get(f"/images/{results[0]['imageUUID']}.jpg")  # still served by UUID
    assert base64.b64decode(results[0]["imageBase64Data"]) == image.content


async def test_the_request_log_shows_bodies_as_sent_even_with_a_bom(client: httpx.AsyncClient) -> None:
    task = make_task()
    body = b"\xef\xbb\xbf" + json.dumps([task]).encode()
    assert (await client.post("/v1", content=body)).status_code == 200
    [entry] = (await client.get("/_mock/requests")).json()
    assert entry["body"] == [task]
    assert entry["response"]["data"][0]["taskUUID"] == task["taskUUID"]


async def test_413_names_the_declared_size_or_the_limit() -> None:
    app = create_app(MockConfig(max_body_bytes=100))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock.localhost") as client:
        declared = await client.post("/v1", content=b"[" + b" " * 300 + b"]", headers={"Authorization": "Bearer k"})
        assert declared.status_code == 413
        [error] = declared.json()["errors"]
        assert (error["message"], error["max"]) == ("The body is 302 bytes; the limit is 100.", 100)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until it passes the limit
            for _ in range(10):
                yield b" " * 50

        streamed = await client.post("/v1", content=chunks(), headers={"Authorization": "Bearer k"})
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["message"] == "The body is over the limit of 100 bytes."
        log = (await client.get("/_mock/requests")).json()
        assert [entry["bodyBytes"] for entry in log] == [302, 150]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "+json",
        "application/json-seq",
    ],
)
async def test_a_declared_non_json_content_type_gets_415_with_a_hint(
    client: httpx.AsyncClient, engine: MockEngine, content_type: str
) -> None:
    task = make_task()
    response = await client.post("/v1", content=json.dumps([task]).encode(), headers={"Content-Type": content_type})
    assert response.status_code == 415
    [err] = response.json()["errors"]
    assert err["code"] == "unsupportedMediaType" and content_type in err["message"]
    assert "Content-Type: application/json" in err["hint"]
    assert schemas.error_codes()["unsupportedMediaType"].http_status == 415
    assert engine.tasks() == [], "a refused request starts no task"
    logged = engine.requests()[-1]
    assert (logged["status"], logged["body"], logged["contentType"]) == (415, [task], content_type), "logged as sent"


@pytest.mark.anyio
async def test_a_bad_key_is_told_before_a_wrong_content_type(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer invalid", "Content-Type": "text/plain"}
    response = await client.post("/v1", content=b"[]", headers=headers)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "invalidApiKey")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type", [None, "application/json", "Application/JSON; charset=utf-8", "application/vnd.runware+json"]
)
async def test_json_content_types_and_none_are_read_as_json(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = client.build_request("POST", "/v1", content=json.dumps([{"taskType": "ping"}]).encode(), headers=headers)
    assert request.headers.get("Content-Type") == content_type  # httpx adds none for raw content
    response = await client.send(request)
    assert (response.status_code, response.json()) == (200, {"data": [{"taskType": "ping", "pong": True}]})


@pytest.mark.anyio
async def test_the_content_type_check_can_be_turned_off(client: httpx.AsyncClient, engine: MockEngine) -> None:
    engine.configure({"requireJsonContentType": False})
    body = json.dumps([{"taskType": "ping"}]).encode()
    response = await client.post("/v1", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text


# -- Runware's dialect on the wire: warnings, getTaskDetails, request faults, integral floats --------


async def test_what_runware_accepts_is_served_with_warnings_in_the_log(
    client: httpx.AsyncClient, engine: MockEngine
) -> None:
    # @runware/ai-sdk-provider sends checkNSFW: false on every request; ttl merely has no effect on base64
    sent = make_task(checkNSFW=False, ttl=120, outputType="base64Data")
    response = await post(client, sent)
    assert response.status_code == 200, response.text
    assert "imageBase64Data" in response.json()["data"][0]
    (task,) = engine.requests()[-1]["tasks"]
    assert task["valid"] is True
    assert [(w["code"], w["parameter"]) for w in task["warnings"]] == [
        ("ineffectiveParameter", "ttl"), ("deprecatedParameter", "checkNSFW"),
    ]  # fmt: skip


async def test_check_nsfw_true_turns_content_checking_on(client: httpx.AsyncClient) -> None:
    on = (await post(client, make_task(checkNSFW=True))).json()["data"][0]
    off = (await post(client, make_task())).json()["data"][0]
    overridden = (await post(client, make_task(checkNSFW=True, safety={"checkContent": False}))).json()["data"][0]
    assert on["NSFWContent"] is False and "NSFWContent" not in off and "NSFWContent" not in overridden


async def test_integral_floats_are_served_like_integers(client: httpx.AsyncClient) -> None:
    sent = make_task(numberResults=2.0, width=1024.0, height=1024.0, outputQuality=95.0,
                     providerSettings={"ideogram": {"remixStrength": 75.0}})  # fmt: skip
    response = await post(client, sent)
    assert response.status_code == 200, response.text
    items = response.json()["data"]
    assert len(items) == 2
    image = await image_of(client, items[0])
    assert image.size == (1024, 1024)
    sent_async = make_task(numberResults=3.0, deliveryMethod="async")
    assert (await post(client, sent_async)).status_code == 200
    poll = {"taskType": "getResponse", "taskUUID": sent_async["taskUUID"]}
    for _ in range(200):
        state = (await post(client, poll)).json()["data"]
        if len(state) == 3 and all(i["status"] == "success" for i in state):
            break
        await asyncio.sleep(0)
    assert [i["status"] for i in state] == ["success"] * 3


async def test_get_task_details_returns_request_and_response(client: httpx.AsyncClient) -> None:
    sent = make_task(numberResults=2)
    auth = {"taskType": "authentication", "apiKey": "secret-key"}
    answer = (await client.post("/v1", json=[auth, sent], headers={"Authorization": ""})).json()
    response = await post(client, {"taskType": "getTaskDetails", "taskUUID": sent["taskUUID"].upper()})
    assert response.status_code == 200
    (item,) = response.json()["data"]
    assert (item["taskType"], item["taskUUID"]) == ("getTaskDetails", sent["taskUUID"].upper())
    assert item["request"] == [{**auth, "apiKey": "<redacted>"}, sent]
    assert item["response"] == answer
    unknown = await post(client, {"taskType": "getTaskDetails", "taskUUID": str(uuid.uuid4())})
    assert unknown.status_code == 400
    body = unknown.json()
    assert body["data"] == [] and body["errors"][0]["code"] == "taskNotFound"
    assert body["errors"][0]["taskType"] == "getTaskDetails"


@pytest.mark.parametrize(
    ("code", "status"),
    [("insufficientCredits", 402), ("forbidden", 403), ("rateLimitExceeded", 429), ("serviceUnavailable", 503),
     ("queueTimeout", 504)],
)  # fmt: skip
async def test_request_faults_by_setting(client: httpx.AsyncClient, engine: MockEngine, code: str, status: int) -> None:
    engine.configure({"request_failure_rate": 1.0, "request_failure_code": code})
    refused = await post(client, make_task())
    assert refused.status_code == status
    body = refused.json()
    assert body["data"] == [] and [e["code"] for e in body["errors"]] == [code]
    assert schemas.error_codes()[code].http_status == status
    engine.configure({"request_failure_rate": 0.0})
    assert (await post(client, make_task())).status_code == 200


async def test_request_faults_are_seeded(engine: MockEngine) -> None:
    def draws(seed: int) -> list[str | None]:
        fresh = MockEngine(MockConfig(seed=seed, request_failure_rate=0.5))
        return [fresh.request_fault() for _ in range(40)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    assert set(draws(1)) == {None, "serviceUnavailable"}


async def test_bad_settings_for_the_new_faults_are_refused(engine: MockEngine) -> None:
    for bad in ({"request_failure_code": "teapot"}, {"webhook_body": "wrapped"}, {"delivery_jitter": 2}):
        with pytest.raises(ValueError):
            engine.configure(bad)


# -- behaviours a mutation once changed unnoticed -----------------------------------------------------


async def test_remix_strength_drives_the_picture(client: httpx.AsyncClient) -> None:
    weak = make_task(outputType="base64Data", providerSettings={"ideogram": {"remixStrength": 5}})
    strong = {**weak, "providerSettings": {"ideogram": {"remixStrength": 95}}}  # the same taskUUID: the same seed
    first = (await post(client, weak)).json()["data"][0]
    await client.post("/_mock/reset", json={})
    second = (await post(client, strong)).json()["data"][0]
    assert first["seed"] == second["seed"]
    assert first["imageBase64Data"] != second["imageBase64Data"]


async def test_task_uuids_conflict_whatever_their_case(client: httpx.AsyncClient) -> None:
    task = make_task()
    upper = {**task, "taskUUID": task["taskUUID"].upper()}
    same_request = (await post(client, task, upper)).json()
    assert [e["code"] for e in same_request["errors"]] == ["conflictTaskUUID"]
    later = (await post(client, upper)).json()  # the lower-case one ran: the server still knows it
    assert later["errors"][0]["code"] == "conflictTaskUUID" and later["errors"][0]["taskUUID"] == upper["taskUUID"]


async def test_results_stream_one_by_one_as_each_is_ready(engine: MockEngine) -> None:
    engine.configure({"latencyMin": 0.4, "latencyMax": 0.4})
    run = engine.submit(make_task(numberResults=2), base_url="http://m.localhost")
    seen = []
    async for item in run.stream():
        seen.append((item["imageUUID"], run.done))
    assert [done for _, done in seen] == [False, True]  # the first image before the task had finished
    assert [uuid for uuid, _ in seen] == list(run.image_uuids)
