"""The mock's WebSocket transport (``ws://HOST:PORT/v1``) with a plain ``websockets`` client on a real socket."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
RECV_TIMEOUT = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0)) as live:
        yield live


@pytest.fixture(autouse=True)
def _fresh(server: BackgroundServer) -> Iterator[None]:
    """Each test starts from the default config with nothing remembered."""
    yield
    server.engine.configure(MockConfig(port=0).to_dict())


def ws_url(server: BackgroundServer) -> str:
    return server.url.replace("http://", "ws://") + "/v1"


def task(**changes: Any) -> dict[str, Any]:
    return {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), **changes}


async def recv(ws: ClientConnection) -> dict[str, Any]:
    frame = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
    assert isinstance(frame, dict)
    return frame


async def send(ws: ClientConnection, *tasks: Any) -> None:
    await ws.send(json.dumps(list(tasks)))


async def closed_code(ws: ClientConnection) -> int | None:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    assert ws.close_code is not None
    return ws.close_code


@pytest.fixture
async def ws(server: BackgroundServer) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server)) as client:
        await send(client, {"taskType": "authentication", "apiKey": "test-key"})
        reply = await recv(client)
        assert reply["data"][0]["taskType"] == "authentication"
        yield client


async def test_authentication_gives_a_session_and_ping_pongs(server: BackgroundServer) -> None:
    async with connect(ws_url(server)) as client:
        await send(client, {"taskType": "authentication", "apiKey": "any-key"})
        reply = await recv(client)
        session = reply["data"][0]["connectionSessionUUID"]
        assert reply == {"data": [{"taskType": "authentication", "connectionSessionUUID": session}]}
        assert uuid.UUID(session).version == 4
        await send(client, {"taskType": "ping", "ping": True})
        assert await recv(client) == {"data": [{"taskType": "ping", "pong": True}]}


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        ({"taskType": "authentication", "apiKey": "invalid"}, "invalidApiKey"),
        ({"taskType": "authentication", "apiKey": ""}, "missingApiKey"),
        ({"taskType": "authentication"}, "missingApiKey"),
    ],
)
async def test_bad_key_gets_the_error_frame_then_close_1008(
    server: BackgroundServer, auth: dict[str, Any], code: str
) -> None:
    async with connect(ws_url(server)) as client:
        await send(client, auth)
        reply = await recv(client)
        assert [(e["code"], e["taskType"], e["parameter"]) for e in reply["errors"]] == [
            (code, "authentication", "apiKey")
        ]
        assert await closed_code(client) == 1008


async def test_configured_keys_only(server: BackgroundServer) -> None:
    server.engine.configure({"apiKeys": ["good"]})
    async with connect(ws_url(server)) as client:
        await send(client, {"taskType": "authentication", "apiKey": "other"})
        assert (await recv(client))["errors"][0]["code"] == "invalidApiKey"
    async with connect(ws_url(server)) as client:
        await send(client, {"taskType": "authentication", "apiKey": "good"})
        assert "connectionSessionUUID" in (await recv(client))["data"][0]


async def test_tasks_before_authentication_get_an_error_and_the_socket_stays(server: BackgroundServer) -> None:
    early = task()
    async with connect(ws_url(server)) as client:
        await send(client, early, {"taskType": "ping"})
        reply = await recv(client)
        assert [(e["code"], e.get("taskUUID")) for e in reply["errors"]] == [
            ("missingApiKey", early["taskUUID"]),
            ("missingApiKey", None),
        ]
        await send(client, {"taskType": "authentication", "apiKey": "k"}, {"taskType": "ping"})
        assert "connectionSessionUUID" in (await recv(client))["data"][0]
        assert await recv(client) == {"data": [{"taskType": "ping", "pong": True}]}
    assert server.engine.task(early["taskUUID"]) is None


async def test_sync_results_one_frame_per_image(server: BackgroundServer, ws: ClientConnection) -> None:
    sent = task(numberResults=3, includeCost=True)
    await send(ws, sent)
    frames = [await recv(ws) for _ in range(3)]
    assert all(list(f) == ["data"] and len(f["data"]) == 1 for f in frames)
    items = [f["data"][0] for f in frames]
    assert {i["taskUUID"] for i in items} == {sent["taskUUID"]}
    assert len({i["imageUUID"] for i in items}) == 3 and len({i["seed"] for i in items}) == 3
    assert all(i["cost"] > 0 for i in items)
    async with httpx.AsyncClient() as http:
        image = await http.get(items[0]["imageURL"])
    assert image.headers["content-type"] == "image/jpeg" and image.content[:3] == b"\xff\xd8\xff"
    assert items[0]["imageURL"].startswith(server.url + "/images/")


async def test_the_same_engine_as_rest(server: BackgroundServer, ws: ClientConnection) -> None:
    sent = task(outputType="base64Data")
    await send(ws, sent)
    over_ws = (await recv(ws))["data"][0]
    server.engine.reset()
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.url}/v1", json=[sent], headers={"Authorization": "Bearer k"})
    assert response.json()["data"][0] == over_ws  # same task, same image bytes and seed
    await send(ws, sent)  # the REST run is still known: the same duplicate rule applies
    error = (await recv(ws))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("conflictTaskUUID", sent["taskUUID"])


async def test_invalid_task_errors_are_tagged_and_the_others_run(ws: ClientConnection) -> None:
    bad = task(providerSettings={"ideogram": {"remixStrength": 150}})
    good = task()
    await send(ws, bad, good)
    first, second = await recv(ws), await recv(ws)
    assert list(first) == ["errors"]
    error = first["errors"][0]
    assert (error["code"], error["parameter"], error["taskUUID"]) == (
        "invalidRemixStrength",
        "providerSettings.ideogram.remixStrength",
        bad["taskUUID"],
    )
    assert (error["min"], error["max"]) == (1, 100)
    assert second["data"][0]["taskUUID"] == good["taskUUID"]


async def test_injected_failure_is_an_errors_frame_with_the_task_uuid(
    server: BackgroundServer, ws: ClientConnection
) -> None:
    server.engine.configure({"failureRate": 1.0})
    sent = task()
    await send(ws, sent)
    error = (await recv(ws))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("providerError", sent["taskUUID"])


async def test_async_acknowledged_then_get_response(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.configure({"latencyMin": 0.2, "latencyMax": 0.2})
    sent = task(deliveryMethod="async", numberResults=2)
    await send(ws, sent)
    assert await recv(ws) == {"data": [{"taskType": "imageInference", "taskUUID": sent["taskUUID"]}]}
    await send(ws, {"taskType": "getResponse", "taskUUID": sent["taskUUID"]})
    state = await recv(ws)
    assert state["data"][-1] == {"taskType": "imageInference", "taskUUID": sent["taskUUID"], "status": "processing"}
    # while it runs, the socket that asked is pushed each remaining result once
    pushed = [(await recv(ws))["data"][0] for _ in range(2 - len(state["data"]) + 1)]
    assert all(item["status"] == "success" for item in pushed)
    await send(ws, {"taskType": "getResponse", "taskUUID": sent["taskUUID"]})
    final = await recv(ws)
    assert [i["status"] for i in final["data"]] == ["success", "success"]
    assert {i["imageUUID"] for i in final["data"]} >= {i["imageUUID"] for i in pushed}


async def test_get_response_unknown_task(ws: ClientConnection) -> None:
    unknown = str(uuid.uuid4())
    await send(ws, {"taskType": "getResponse", "taskUUID": unknown})
    error = (await recv(ws))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("taskNotFound", unknown)


async def test_several_tasks_in_flight_on_one_socket_and_many_sockets(server: BackgroundServer) -> None:
    server.engine.configure({"latencyMin": 0.05, "latencyMax": 0.3})

    async def client(n: int) -> set[str]:
        async with connect(ws_url(server)) as c:
            await send(c, {"taskType": "authentication", "apiKey": f"key-{n}"})
            await recv(c)
            sent = [task(numberResults=2) for _ in range(3)]
            for t in sent:
                await send(c, t)
            got = [(await recv(c))["data"][0] for _ in range(6)]
            assert sorted(i["taskUUID"] for i in got) == sorted(t["taskUUID"] for t in sent for _ in range(2))
            return {i["imageUUID"] for i in got}

    images = await asyncio.gather(*(client(n) for n in range(8)))
    assert len(set().union(*images)) == 48


async def test_malformed_frames_get_an_error_and_the_socket_stays(ws: ClientConnection) -> None:
    cases: list[tuple[str | bytes, list[str]]] = [
        ("not json", ["invalidRequestBody"]),
        ('{"taskType": "ping"}', ["invalidRequestBody"]),  # not an array
        ("[]", ["invalidRequestBody"]),
        ("[NaN]", ["invalidRequestBody"]),
        (b'[{"taskType": "ping"}]', ["invalidRequestBody"]),  # binary
        ('[1, {"taskType": "nope"}]', ["invalidRequestBody", "unsupportedTaskType"]),  # one error frame per task
    ]
    for frame, codes in cases:
        await ws.send(frame)
        replies = [await recv(ws) for _ in codes]
        assert [r["errors"][0]["code"] for r in replies] == codes, frame
    await send(ws, {"taskType": "ping"})
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_oversized_frame_is_an_error_frame(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.configure({"wsMaxFrameBytes": 4096})
    await send(ws, task(positivePrompt="x" * 5000))
    error = (await recv(ws))["errors"][0]
    assert (error["code"], error["max"]) == ("payloadTooLarge", 4096)
    await send(ws, {"taskType": "ping"})
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_idle_socket_is_closed_with_1000(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.configure({"wsIdleTimeout": 0.2})
    await send(ws, {"taskType": "ping"})  # the new timeout applies from the next wait
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}
    assert await closed_code(ws) == 1000
    assert "idle" in (ws.close_reason or "")


async def test_over_max_sockets_is_closed_with_1013(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.configure({"wsMaxSockets": 1})
    async with connect(ws_url(server)) as second:
        assert await closed_code(second) == 1013
    await send(ws, {"taskType": "ping"})
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}


async def _drop_during_a_task(server: BackgroundServer, numbers: int = 2) -> tuple[str, dict[str, Any]]:
    """Authenticate, send a slow sync task, drop the TCP connection without a close frame."""
    server.engine.configure({"latencyMin": 0.3, "latencyMax": 0.3})
    sent = task(numberResults=numbers)
    client = await connect(ws_url(server))
    await send(client, {"taskType": "authentication", "apiKey": "k"})
    session = (await recv(client))["data"][0]["connectionSessionUUID"]
    await send(client, sent)
    client.transport.abort()  # the network went away
    deadline = time.monotonic() + RECV_TIMEOUT
    while not (run := server.engine.task(sent["taskUUID"])) or not run.done:
        assert time.monotonic() < deadline, "the task did not finish"
        await asyncio.sleep(0.02)
    return session, sent


async def test_resume_replays_undelivered_results_once(server: BackgroundServer) -> None:
    session, sent = await _drop_during_a_task(server)
    async with connect(ws_url(server)) as again:
        await send(again, {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session})
        assert (await recv(again))["data"][0]["connectionSessionUUID"] == session
        replayed = [(await recv(again))["data"][0] for _ in range(2)]
        assert {i["taskUUID"] for i in replayed} == {sent["taskUUID"]}
        assert len({i["imageUUID"] for i in replayed}) == 2
        await send(again, {"taskType": "ping"})
        assert await recv(again) == {"data": [{"taskType": "ping", "pong": True}]}
    async with connect(ws_url(server)) as third:  # replayed once, then forgotten
        await send(third, {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session})
        await recv(third)
        await send(third, {"taskType": "ping"})
        assert await recv(third) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_resume_needs_the_same_key_and_the_retention(server: BackgroundServer) -> None:
    session, _ = await _drop_during_a_task(server)
    async with connect(ws_url(server)) as other:
        await send(other, {"taskType": "authentication", "apiKey": "another", "connectionSessionUUID": session})
        assert (await recv(other))["data"][0]["connectionSessionUUID"] != session
        await send(other, {"taskType": "ping"})
        assert await recv(other) == {"data": [{"taskType": "ping", "pong": True}]}
    server.engine.configure({"wsResumeRetention": 0})
    async with connect(ws_url(server)) as late:
        await send(late, {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session})
        assert (await recv(late))["data"][0]["connectionSessionUUID"] != session
        await send(late, {"taskType": "ping"})
        assert await recv(late) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_resume_bytes_budget_bounds_what_is_kept(server: BackgroundServer) -> None:
    server.engine.configure({"wsResumeBytes": 0})
    session, _ = await _drop_during_a_task(server)
    async with connect(ws_url(server)) as again:
        await send(again, {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session})
        assert (await recv(again))["data"][0]["connectionSessionUUID"] != session  # evicted with its frames
        await send(again, {"taskType": "ping"})
        assert await recv(again) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_authenticating_again_keeps_the_session(ws: ClientConnection) -> None:
    await send(ws, {"taskType": "ping"}, {"taskType": "authentication", "apiKey": "test-key"})
    session = (await recv(ws))["data"][0]["connectionSessionUUID"]
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}
    await send(ws, {"taskType": "authentication", "apiKey": "test-key"})
    assert (await recv(ws))["data"][0]["connectionSessionUUID"] == session


async def test_resume_before_the_server_saw_the_drop_moves_the_session(server: BackgroundServer) -> None:
    async with connect(ws_url(server)) as first:
        await send(first, {"taskType": "authentication", "apiKey": "k"})
        session = (await recv(first))["data"][0]["connectionSessionUUID"]
        async with connect(ws_url(server)) as second:
            await send(second, {"taskType": "authentication", "apiKey": "k", "connectionSessionUUID": session})
            assert (await recv(second))["data"][0]["connectionSessionUUID"] == session
            assert await closed_code(first) == 1000
            sent = task()
            await send(second, sent)
            assert (await recv(second))["data"][0]["taskUUID"] == sent["taskUUID"]


async def test_rate_limit_applies_to_frames(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.configure({"rateLimit": 1, "rateWindow": 60})
    first, second = task(), task()
    await send(ws, first)
    assert (await recv(ws))["data"][0]["taskUUID"] == first["taskUUID"]
    await send(ws, second, {"taskType": "ping"})
    error = (await recv(ws))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("rateLimitExceeded", second["taskUUID"])
    assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}  # heartbeats are never limited


async def test_inspection_shows_ws_frames_beside_rest(server: BackgroundServer, ws: ClientConnection) -> None:
    server.engine.reset()
    sent = task()
    await send(ws, sent)
    await recv(ws)
    async with httpx.AsyncClient() as http:
        await http.post(f"{server.url}/v1", json=[task()], headers={"Authorization": "Bearer k"})
        log = (await http.get(f"{server.url}/_mock/requests")).json()
    assert [entry["transport"] for entry in log] == ["ws", "rest"]
    frame = log[0]
    assert frame["connectionSessionUUID"] and frame["body"] == [sent]
    assert frame["tasks"] == [
        {
            "index": 0,
            "taskType": "imageInference",
            "taskUUID": sent["taskUUID"],
            "valid": True,
            "errors": [],
            "warnings": [],
        }
    ]
    assert frame["response"] == []  # the result went out as it was ready, after the frame was answered


def test_readme_protocol_example(server: BackgroundServer) -> None:
    env = {**os.environ, "IDEOGRAM_MOCK_URL": server.url}
    command = [sys.executable, str(ROOT / "examples" / "ws_protocol.py")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == 'True True\nTrue True\n{"data":[{"taskType":"ping","pong":true}]} 36\n'


async def test_errors_details_and_faults_over_the_socket(server: BackgroundServer, ws: ClientConnection) -> None:
    bad = task(providerSettings={"ideogram": {"remixStrength": 150}})
    await send(ws, bad)
    frame = await recv(ws)
    assert list(frame) == ["errors"]  # WebSocket error frames carry no "data": [] (REST bodies do)
    error = frame["errors"][0]
    assert (error["code"], error["parameter"], error["type"], error["min"], error["max"]) == (
        "invalidRemixStrength", "providerSettings.ideogram.remixStrength", "integer", 1, 100,
    )  # fmt: skip
    assert error["message"].startswith("Invalid value for 'remixStrength' parameter.")
    assert error["documentation"].startswith("https://runware.ai/docs/")
    sent = task()
    await send(ws, sent)
    result = (await recv(ws))["data"][0]
    await send(ws, {"taskType": "getTaskDetails", "taskUUID": sent["taskUUID"]})
    (details,) = (await recv(ws))["data"]
    assert details["request"] == [sent] and details["response"] == {"data": [result]}
    server.engine.configure({"request_failure_rate": 1.0, "request_failure_code": "insufficientCredits"})
    try:
        await send(ws, task(), {"taskType": "ping"})
        refused = (await recv(ws))["errors"][0]
        assert refused["code"] == "insufficientCredits"
        assert await recv(ws) == {"data": [{"taskType": "ping", "pong": True}]}
    finally:
        server.engine.configure({"request_failure_rate": 0.0})


async def test_tasks_before_authentication_are_refused_one_by_one(server: BackgroundServer) -> None:
    # each task of a frame sent before the authentication task gets its own missingApiKey, naming it
    async with connect(ws_url(server)) as client:
        first, second = task(), task()
        await send(client, first, {"taskType": "ping", "ping": True}, second, 7)
        reply = await recv(client)
        assert [(e["code"], e["parameter"]) for e in reply["errors"]] == [("missingApiKey", "apiKey")] * 4
        assert [(e.get("taskType"), e.get("taskUUID")) for e in reply["errors"]] == [
            ("imageInference", first["taskUUID"]), ("ping", None), ("imageInference", second["taskUUID"]), (None, None)
        ]  # fmt: skip
        assert reply["errors"][0]["message"].startswith("Not authenticated: the first frame must be")


async def test_a_close_reason_is_cut_to_the_protocol_s_123_bytes_on_a_character_boundary() -> None:
    from ideogram_mock.websocket import _close

    class Closing:
        def __init__(self) -> None:
            self.closed: list[tuple[int, str]] = []

        async def close(self, code: int, reason: str) -> None:
            self.closed.append((code, reason))

    socket = Closing()
    await _close(socket, 1008, "é" * 100)  # type: ignore[arg-type]  # 200 bytes in UTF-8
    [(code, reason)] = socket.closed
    assert code == 1008 and reason == "é" * 60 + "..." and len(reason.encode()) <= 123
    await _close(socket, 1000, "short")  # type: ignore[arg-type]
    assert socket.closed[-1] == (1000, "short")


async def test_the_authentication_frame_is_logged_with_the_session_it_opened(server: BackgroundServer) -> None:
    server.engine.reset()
    async with connect(ws_url(server)) as client:
        await send(client, {"taskType": "authentication", "apiKey": "any-key"})
        session = (await recv(client))["data"][0]["connectionSessionUUID"]
        async with httpx.AsyncClient() as http:
            [entry] = (await http.get(f"{server.url}/_mock/requests")).json()
    assert (entry["transport"], entry["connectionSessionUUID"]) == ("ws", session)


async def test_sockets_past_ws_max_sockets_are_told_to_try_again_and_a_freed_place_is_reused(
    server: BackgroundServer,
) -> None:
    server.engine.configure({"ws_max_sockets": 2})
    auth = {"taskType": "authentication", "apiKey": "any-key"}
    async with connect(ws_url(server)) as first, connect(ws_url(server)) as second:
        for client in (first, second):
            await send(client, auth)
            assert "connectionSessionUUID" in (await recv(client))["data"][0]
        async with connect(ws_url(server)) as third:
            assert await closed_code(third) == 1013
            assert third.close_reason == "more than 2 open sockets"
    for _ in range(200):  # (2 s at most) the server notices the two sockets closed
        async with connect(ws_url(server)) as again:
            await send(again, auth)
            try:
                reply = await recv(again)
            except ConnectionClosed:
                await asyncio.sleep(0.01)
                continue
            assert "connectionSessionUUID" in reply["data"][0]
            break
    else:
        raise AssertionError("no place came free after the sockets closed")
