"""The mock's limits, each with its documented error, over REST and WebSocket; retention bounds.

Live-socket behaviour (a 200 MB body, oversized headers, SIGTERM, outbound rules against real
receivers) is in the second half: servers bind 127.0.0.1 on free ports.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from ideogram_kit.payloads import MAX_DEPTH, JSONInputError, parse_json
from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.server import BackgroundServer

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = {"Authorization": "Bearer k"}
PING = {"taskType": "ping", "ping": True}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def task(**changes: Any) -> dict[str, Any]:
    return {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), **changes}


def nested(depth: int) -> bytes:
    """A request body whose arrays nest ``depth`` deep (the outer array counts)."""
    return b"[" * depth + b"]" * depth


@pytest.fixture
async def engine() -> AsyncIterator[MockEngine]:
    engine = MockEngine(MockConfig(max_tasks_per_request=3, max_images_per_request=5, max_json_depth=8))
    yield engine
    await engine.aclose(0)


@pytest.fixture
async def client(engine: MockEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.test", headers=AUTH) as http:
        yield http


def only_error(response: httpx.Response) -> dict[str, Any]:
    [error] = response.json()["errors"]
    assert isinstance(error, dict)
    return error


# -- limits over REST ------------------------------------------------------------------------------


async def test_tasks_per_request(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1", json=[PING] * 3)).status_code == 200
    response = await client.post("/v1", json=[PING] * 4)
    error = only_error(response)
    assert (response.status_code, error["code"], error["max"]) == (413, "payloadTooLarge", 3)
    assert "4 tasks" in error["message"] and "max_tasks_per_request" in error["message"]


async def test_tasks_per_request_is_checked_before_the_api_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1", json=[PING] * 4, headers={"Authorization": "Bearer invalid"})
    assert (response.status_code, only_error(response)["code"]) == (413, "payloadTooLarge")


async def test_images_per_request_sums_number_results_of_valid_tasks(
    engine: MockEngine, client: httpx.AsyncClient
) -> None:
    over = [task(numberResults=3, deliveryMethod="async"), task(numberResults=3, deliveryMethod="async")]
    response = await client.post("/v1", json=over)
    error = only_error(response)
    assert (response.status_code, error["code"], error["max"]) == (413, "payloadTooLarge", 5)
    assert "6 images" in error["message"]
    assert engine.tasks() == []  # none of the request's tasks ran
    # an invalid task's numberResults does not count; its own error comes back as usual
    mixed = [task(numberResults=3, deliveryMethod="async"), task(numberResults=3, width=1)]
    response = await client.post("/v1", json=mixed)
    assert response.status_code == 200
    assert [e["code"] for e in response.json()["errors"]] == ["unsupportedDimensions"]
    exact = [task(numberResults=3, deliveryMethod="async"), task(numberResults=2, deliveryMethod="async")]
    assert (await client.post("/v1", json=exact)).status_code == 200


async def test_json_depth(client: httpx.AsyncClient) -> None:
    at_limit = await client.post("/v1", content=b"[" + b'{"a":' * 6 + b"[]" + b"}" * 6 + b"]")  # depth 8
    assert at_limit.json()["errors"][0]["code"] != "invalidRequestBody"  # parsed; the task itself is wrong
    for body in (nested(9), nested(100_000), b"[" + b'{"a":[' * 50_000):
        response = await client.post("/v1", content=body)
        error = only_error(response)
        assert (response.status_code, error["code"]) == (400, "invalidRequestBody")
        assert "nested deeper than 8 levels" in error["message"], error


async def test_limits_change_at_run_time(engine: MockEngine, client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1", json=[PING] * 4)).status_code == 413
    engine.configure({"maxTasksPerRequest": 4, "maxJsonDepth": 10})
    assert (await client.post("/v1", json=[PING] * 4)).status_code == 200
    assert "deeper" not in (await client.post("/v1", content=nested(10))).text


def test_parse_json_depth_is_always_enforced() -> None:
    assert parse_json(nested(MAX_DEPTH)) == parse_json(nested(MAX_DEPTH))  # the CLI's default limit
    with pytest.raises(JSONInputError, match=f"deeper than {MAX_DEPTH} levels") as info:
        parse_json(nested(MAX_DEPTH + 1))  # below Python's own recursion limit: refused all the same
    assert (info.value.line, info.value.column) == (1, MAX_DEPTH + 1)
    assert parse_json("[[1], {}, [2]]", max_depth=2) == [[1], {}, [2]]  # many brackets, shallow
    assert parse_json('["[[[[", "{{{{"]', max_depth=1) == ["[[[[", "{{{{"]  # brackets inside strings
    with pytest.raises(JSONInputError, match="deeper than 2"):
        parse_json('[{"a": []}]', max_depth=2)


# -- limits over WebSocket ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, max_tasks_per_request=3, max_images_per_request=5,
                                     max_json_depth=8)) as live:  # fmt: skip
        yield live


async def test_the_same_limits_apply_to_websocket_frames(server: BackgroundServer) -> None:
    async with connect(server.url.replace("http://", "ws://") + "/v1") as ws:

        async def answer(frame: str | bytes) -> dict[str, Any]:
            await ws.send(frame)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(reply, dict)
            return reply

        assert "data" in await answer(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
        for frame, code, words in [
            (json.dumps([PING] * 4), "payloadTooLarge", "4 tasks"),
            (json.dumps([task(numberResults=3), task(numberResults=3)]), "payloadTooLarge", "6 images"),
            (nested(9).decode(), "invalidRequestBody", "deeper than 8"),
        ]:
            [error] = (await answer(frame))["errors"]
            assert (error["code"], words in error["message"]) == (code, True), error
        assert await answer(json.dumps([PING])) == {"data": [{"taskType": "ping", "pong": True}]}
    assert server.engine.tasks() == []


# -- retention: oldest first, bounded --------------------------------------------------------------------


async def test_retained_images_and_tasks_are_evicted_oldest_first(
    engine: MockEngine, client: httpx.AsyncClient
) -> None:
    engine.configure({"maxTasks": 2, "maxImages": 2})
    urls, uuids = [], []
    for _ in range(3):
        sent = task()
        response = await client.post("/v1", json=[sent])
        urls.append(response.json()["data"][0]["imageURL"])
        uuids.append(sent["taskUUID"])
    assert [(await client.get(url)).status_code for url in urls] == [404, 200, 200]
    codes = []
    for task_uuid in uuids:
        polled = await client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}])
        codes.append(polled.json().get("errors", [{"code": "ok"}])[0]["code"])
    assert codes == ["taskNotFound", "ok", "ok"]
