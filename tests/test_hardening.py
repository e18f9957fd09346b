"""Junk in, Runware-style 4xx out: the mock never answers 5xx (without an injected fault),
never raises, and every error body it sends is valid by the error schema; over HTTP (in
process) and over WebSocket (a live server: every frame it sends is a valid envelope without a
5xx-class code, and the socket stays open).

The CI run is a bounded sample; ``bench/fuzz.py`` runs the full 10,000 requests (and 10,000
frames with ``--ws``) against a live server and also checks its log for tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from ideogram_kit import schemas
from ideogram_mock import MockConfig, create_app
from ideogram_mock.server import BackgroundServer

DOCS_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text()
)
AUTH = {"Authorization": "Bearer fuzz"}

#: Hand-made bodies that broke other servers at one time or another.
NASTY_BODIES: list[bytes] = [
    b"", b" ", b"\n", b"null", b"true", b"0", b'"x"', b"{}", b"[]", b"[[]]", b"[null]", b"[1]", b"[{}]",
    b"[NaN]", b"[Infinity]", b"[-Infinity]", b"[1e400]", b"[-0]", b"[" + b"9" * 5000 + b"]",
    b"\xff\xfe\xfd", b'["\xc3\x28"]', b"\x00\x00\x00", b"\xef\xbb\xbf[]", b"[" * 100_000, b"[{" * 5_000,
    b'[{"a":"\\ud800"}]', b'[{"taskType":"imageInference","taskType":"ping"}]',
    b'[{"taskType":"getResponse","taskUUID":null}]', b'[{"taskType":"getResponse","taskUUID":"../../etc/passwd"}]',
    b'[{"taskType":"getResponse","taskUUID":{"$ne":1}}]', b'[{"taskType":"getResponse"}]',
    b'[{"taskType":"getResponse","taskUUID":"00000000-0000-4000-8000-000000000000"}]',
    b'[{"taskType":"nope"}]', b'[{"taskType":["imageInference"]}]', b'[{"taskType":"ping","ping":"yes"}]',
    b'[{"taskType":"authentication","apiKey":""}]', b'[{"taskType":"authentication","apiKey":5}]',
    b'[{"taskType":"imageInference"}]', b"[{\"taskType\":\"imageInference\"," + b'"x":' * 1 + b"1}]",
]  # fmt: skip


def _variants() -> Iterator[bytes]:
    yield from NASTY_BODIES
    big = 10**30
    for change in (
        {"width": big},
        {"numberResults": big},
        {"numberResults": -big},
        {"outputQuality": 1e308},
        {"positivePrompt": "\ud800"},
        {"positivePrompt": "x" * 100_000},
        {"inputs": {"referenceImages": ["data:image/png;base64,AAAA"]}},  # decodes to junk bytes
        {"inputs": {"referenceImages": ["QUJDRA=="]}},
        {"webhookURL": "http://169.254.169.254/latest/meta-data"},
        {"uploadEndpoint": "http://10.0.0.1/upload"},
        {"webhookURL": "http://[::ffff:10.0.0.1]/x"},
    ):
        yield json.dumps([{**copy.deepcopy(DOCS_EXAMPLE), **change}], ensure_ascii=True).encode()
    yield json.dumps([DOCS_EXAMPLE] * 300).encode()


class Client:
    """A synchronous face on httpx's ASGI transport, on one event loop that outlives the calls
    (so the engine's background tasks keep running between requests). App exceptions propagate."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=create_app(MockConfig(seed=3)))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://mock.localhost")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.runner.run(self.http.request(method, path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.runner.run(self.http.aclose())
        self.runner.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    test_client = Client()
    yield test_client
    test_client.close()


def assert_runware_error(status: int, body: bytes) -> dict[str, Any]:
    assert status < 500, (status, body[:300])
    envelope = json.loads(body)
    schemas.validator("response").validate(envelope)
    return dict(envelope)


@pytest.mark.parametrize("body", list(_variants()), ids=lambda b: repr(b[:40]))
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_nasty_bodies_get_4xx_envelopes(client: Client, body: bytes, content_type: str | None) -> None:
    headers = dict(AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/v1", content=body, headers=headers)
    envelope = assert_runware_error(response.status_code, response.content)
    if response.status_code >= 400:
        assert envelope["errors"], envelope
    client.post("/_mock/reset", json={})


@pytest.mark.parametrize("body", [b'{"a": 1, "a": 2}', b'[{"taskType":"ping","ping":true,"ping":false}]'])
def test_duplicate_keys_are_refused(client: Client, body: bytes) -> None:
    response = client.post("/v1", content=body, headers=AUTH)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "invalidRequestBody" and "duplicate key" in error["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
task_keys = st.sampled_from([*schemas.task_parameters(), "taskType", "seed", "x"])


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    """A request near the valid space: the docs example with a few keys set to random JSON."""
    task: dict[str, Any] = copy.deepcopy(DOCS_EXAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(task_keys).split(".")
        node = task
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = draw(json_values)
    task["taskUUID"] = str(draw(st.uuids(version=4)))
    return json.dumps([task]).encode()


fuzz_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated_requests(),
)


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=fuzz_bodies)
def test_fuzzed_requests_never_5xx(client: Client, body: bytes) -> None:
    response = client.post("/v1", content=body, headers=AUTH)
    assert_runware_error(response.status_code, response.content)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    task_uuid=st.one_of(st.text(max_size=50), st.uuids().map(str), json_values),
)
def test_get_response_with_odd_task_uuids(client: Client, task_uuid: Any) -> None:
    response = client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}], headers=AUTH)
    envelope = assert_runware_error(response.status_code, response.content)
    assert response.status_code == 400
    assert envelope["errors"][0]["code"] in {"taskNotFound", "invalidTaskUUID"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1"), ("PUT", "/v1"), ("DELETE", "/_mock/reset"), ("GET", "/images/..%2f..%2fetc%2fpasswd"),
     ("GET", "/images/%00.jpg"), ("GET", "/_mock/tasks/%ff"), ("GET", "/nope")],
)  # fmt: skip
def test_odd_routes_are_4xx(client: Client, method: str, path: str) -> None:
    response = client.request(method, path, headers=AUTH)
    assert 400 <= response.status_code < 500


# -- the same junk as WebSocket frames ------------------------------------------------------------

PING_FRAME = json.dumps([{"taskType": "ping", "ping": True}])
PONG = {"data": [{"taskType": "ping", "pong": True}]}


def ws_problems(frame: dict[str, Any]) -> list[str]:
    """What is wrong with a server frame: not a valid envelope, or an error code of a 5xx status."""
    problems = [f"{e.json_path}: {e.message}" for e in schemas.validator("response").iter_errors(frame)]
    codes = schemas.error_codes()
    return problems + [f"{e.get('code')} is a 5xx code" for e in frame.get("errors", [])
                       if e.get("code") not in codes or codes[e["code"]].http_status >= 500]  # fmt: skip


def ws_exchange(ws: ClientConnection, frame: bytes, binary: bool = False, timeout: float = 30) -> list[dict[str, Any]]:
    """Send ``frame`` (as text when it is UTF-8 and ``binary`` is false), then a ping; the server
    frames received up to its pong (late results of earlier frames may be among them)."""
    try:
        ws.send(frame if binary else frame.decode("utf-8"))
    except UnicodeDecodeError:
        ws.send(frame)
    ws.send(PING_FRAME)
    received: list[dict[str, Any]] = []
    while True:
        reply = json.loads(ws.recv(timeout=timeout))
        if reply == PONG:
            return received
        received.append(reply)


@contextlib.contextmanager
def ws_connect(url: str) -> Iterator[ClientConnection]:
    """An authenticated client socket on ``url`` (``http://…``), with no client-side size limit."""
    with connect(url.replace("http://", "ws://") + "/v1", max_size=None) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "fuzz"}]))
        assert "data" in json.loads(ws.recv(timeout=10))
        yield ws


@pytest.fixture(scope="module")
def live_ws() -> Iterator[ClientConnection]:
    with BackgroundServer(MockConfig(port=0, seed=3)) as server, ws_connect(server.url) as ws:
        yield ws
        assert ws_exchange(ws, b"[]") != []  # still answering after all the junk


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_nasty_frames_get_error_frames_and_the_socket_stays(live_ws: ClientConnection, binary: bool) -> None:
    for body in _variants():
        replies = ws_exchange(live_ws, body, binary)
        assert replies, body[:80]  # every nasty frame gets an answer before the ping's pong
        assert all(not ws_problems(r) for r in replies), (body[:80], [ws_problems(r) for r in replies])
        if binary:
            assert [r["errors"][0]["code"] for r in replies] == ["invalidRequestBody"], body[:80]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=fuzz_bodies)
def test_fuzzed_frames_never_5xx(live_ws: ClientConnection, body: bytes) -> None:
    for reply in ws_exchange(live_ws, body):
        assert not ws_problems(reply), (body[:200], reply)


# -- invalid Unicode: a lone surrogate anywhere a client's string is echoed --------------------------

SURROGATE = "\ud800"
SURROGATE_REQUESTS: dict[str, list[dict[str, Any]]] = {
    "taskUUID": [{**DOCS_EXAMPLE, "taskUUID": SURROGATE}],
    "taskType": [{**DOCS_EXAMPLE, "taskType": SURROGATE}],
    "model": [{**DOCS_EXAMPLE, "model": SURROGATE}],
    "unknown key": [{**DOCS_EXAMPLE, SURROGATE: 1}],
    "reference": [{**DOCS_EXAMPLE, "inputs": {"referenceImages": [SURROGATE]}}],
    "outputFormat": [{**DOCS_EXAMPLE, "outputFormat": SURROGATE}],
    "getResponse": [{"taskType": "getResponse", "taskUUID": SURROGATE}],
    "getTaskDetails": [{"taskType": "getTaskDetails", "taskUUID": SURROGATE}],
    "webhook path": [{**DOCS_EXAMPLE, "webhookURL": "http://127.0.0.1:9/hook/" + SURROGATE}],
    "upload path": [{**DOCS_EXAMPLE, "uploadEndpoint": "http://127.0.0.1:9/" + SURROGATE}],
}


@pytest.mark.parametrize("where", list(SURROGATE_REQUESTS))
def test_lone_surrogates_get_a_runware_400_over_rest(client: Client, where: str) -> None:
    body = json.dumps(SURROGATE_REQUESTS[where]).encode()  # \ud800 as an escape: valid JSON text
    response = client.post("/v1", content=body, headers={**AUTH, "Content-Type": "application/json"})
    envelope = assert_runware_error(response.status_code, response.content)
    assert response.status_code == 400 and envelope["data"] == [], envelope
    if where.endswith("path"):  # refused before the task runs: no delivery can be lost
        assert envelope["errors"][0]["code"] == "forbiddenOutboundTarget"


def test_lone_surrogates_get_error_frames_and_the_socket_stays(live_ws: ClientConnection) -> None:
    for where, request in SURROGATE_REQUESTS.items():
        replies = ws_exchange(live_ws, json.dumps(request).encode())
        assert replies and all("errors" in r and not ws_problems(r) for r in replies), (where, replies)


def test_a_webhook_url_no_request_can_carry_is_a_failed_attempt_not_a_lost_delivery() -> None:
    async def scenario() -> list[dict[str, Any]]:
        from ideogram_mock import MockEngine

        engine = MockEngine(MockConfig(outbound_allow=("hooks.test",)))
        run = engine.submit({**DOCS_EXAMPLE, "webhookURL": "http://127.0.0.1:9/" + SURROGATE}, base_url="http://m")
        await run.wait()
        assert await engine.drain(10)
        await engine.aclose()
        return engine.deliveries()

    attempts = asyncio.run(scenario())  # the engine's own check would refuse it; submit() is told to run it
    (attempt,) = attempts  # recorded, final at once: retrying cannot make the URL requestable
    assert (attempt["final"], attempt["outcome"]) == (True, "failed")
    assert "cannot be requested" in attempt["error"]


@pytest.mark.timeout(120)
def test_the_nesting_scan_is_linear_in_the_body_size(client: Client) -> None:
    # 4 MiB of escaped quotes, then nesting past the limit: the old scanner retried its string match
    # from every quote (0.17 s at 4 KiB, 50 s at 64 KiB: hours here); a linear one takes milliseconds
    body = b"[" * 70 + b'"' + b'\\"' * (2 * 1024 * 1024) + b'"' + b"]" * 70  # valid JSON, too deep
    response = client.post("/v1", content=body, headers=AUTH)
    envelope = assert_runware_error(response.status_code, response.content)
    assert envelope["errors"][0]["code"] == "invalidRequestBody"
    assert "nested deeper than 64 levels" in envelope["errors"][0]["message"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"\xef\xbb\xbf[1]", [1]), (b"[1]", [1]), ("[1]", [1])],
    ids=["bytes-with-a-bom", "bytes", "text"],
)
def test_one_byte_order_mark_is_dropped_from_a_body(data: bytes | str, expected: Any) -> None:
    from ideogram_kit.payloads import parse_json

    assert parse_json(data) == expected


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf\xef\xbb\xbf[1]", "\ufeff[1]"], ids=["two-boms", "text-with-a-bom"])
def test_a_bom_left_in_the_text_is_named_as_such(data: bytes | str) -> None:
    from ideogram_kit.payloads import JSONInputError, parse_json

    with pytest.raises(JSONInputError, match="Unexpected UTF-8 BOM"):
        parse_json(data)
