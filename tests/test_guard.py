"""No other web page may drive the mock (ideogram_mock.guard), and secrets never show in inspection.

The attacks are replayed as a browser would send them to a live ``ideogram-kit serve``: a
cross-origin ``no-cors`` POST (``Content-Type: text/plain``, an ``Origin`` header), a DNS-rebound
page (a foreign ``Host`` header), a cross-origin WebSocket handshake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

DOCS_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text()
)
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0)) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(live: BackgroundServer) -> None:
    live.engine.configure({"failureRate": 0.0, "outboundAllow": [], "allowedOrigins": [], "allowedHosts": []})
    live.engine.reset()


def code_of(response: httpx.Response) -> str:
    body = response.json()
    assert body["data"] == []
    return str(body["errors"][0]["code"])


def test_a_cross_origin_no_cors_post_cannot_change_the_config(live: BackgroundServer) -> None:
    attack = json.dumps({"failureRate": 1, "outboundAllow": ["169.254.169.254"]})
    headers = {"Origin": EVIL, "Content-Type": "text/plain"}
    for method in ("POST", "PATCH"):
        refused = httpx.request(method, f"{live.url}/_mock/config", content=attack, headers=headers)
        assert (refused.status_code, code_of(refused)) == (403, "forbiddenOrigin")
    assert (live.engine.config.failure_rate, live.engine.config.outbound_allow) == (0.0, ())


def test_state_changes_take_json_only(live: BackgroundServer) -> None:
    attack = json.dumps({"failureRate": 1})
    refused = httpx.post(f"{live.url}/_mock/config", content=attack, headers={"Content-Type": "text/plain"})
    assert (refused.status_code, code_of(refused)) == (415, "unsupportedMediaType")
    assert code_of(httpx.post(f"{live.url}/_mock/reset")) == "unsupportedMediaType"
    assert live.engine.config.failure_rate == 0.0
    ok = httpx.patch(f"{live.url}/_mock/config", json={"failureRate": 0.5})  # curl and the plugin send JSON
    assert ok.status_code == 200 and live.engine.config.failure_rate == 0.5


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"])
def test_loopback_pages_are_welcome(live: BackgroundServer, origin: str) -> None:
    answer = httpx.patch(f"{live.url}/_mock/config", json={"failureRate": 0.25}, headers={"Origin": origin})
    assert answer.status_code == 200 and live.engine.config.failure_rate == 0.25


def test_allowed_origins_admits_a_named_page(live: BackgroundServer) -> None:
    assert httpx.get(f"{live.url}/_mock/requests", headers={"Origin": EVIL}).status_code == 403
    assert httpx.get(f"{live.url}/_mock/requests", headers={"Origin": "null"}).status_code == 403
    live.engine.configure({"allowedOrigins": [EVIL]})
    assert httpx.get(f"{live.url}/_mock/requests", headers={"Origin": EVIL}).status_code == 200


def test_a_dns_rebound_page_cannot_read_the_log(live: BackgroundServer) -> None:
    auth = {"taskType": "authentication", "apiKey": "sk-live-secret"}
    assert httpx.post(f"{live.url}/v1", json=[auth, DOCS_EXAMPLE]).status_code == 200
    rebound = httpx.get(f"{live.url}/_mock/requests", headers={"Host": "evil.example:8000"})
    assert (rebound.status_code, code_of(rebound)) == (403, "forbiddenHost")
    assert httpx.post(f"{live.url}/v1", json=[DOCS_EXAMPLE], headers={"Host": "evil.example"}).status_code == 403
    live.engine.configure({"allowedHosts": ["evil.example"]})
    assert httpx.get(f"{live.url}/_mock/requests", headers={"Host": "evil.example:8000"}).status_code == 200


def test_api_keys_are_redacted_in_every_inspection_answer(live: BackgroundServer) -> None:
    auth = {"taskType": "authentication", "apiKey": "sk-live-secret"}
    assert httpx.post(f"{live.url}/v1", json=[auth, DOCS_EXAMPLE]).status_code == 200
    with connect(live.url.replace("http://", "ws://") + "/v1") as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "sk-ws-secret"}]))
        ws.recv(timeout=10)
    for path in ("/_mock/requests", "/_mock/tasks", "/_mock/deliveries", "/_mock/config"):
        text = httpx.get(live.url + path).text
        assert "sk-live-secret" not in text and "sk-ws-secret" not in text, path
    logged = httpx.get(f"{live.url}/_mock/requests").json()
    assert logged[0]["body"][0] == {"taskType": "authentication", "apiKey": "<redacted>"}
    details = httpx.post(f"{live.url}/v1", json=[{"taskType": "getTaskDetails", "taskUUID": DOCS_EXAMPLE["taskUUID"]}])
    assert "sk-live-secret" not in details.text


def test_a_cross_origin_websocket_is_refused(live: BackgroundServer) -> None:
    url = live.url.replace("http://", "ws://") + "/v1"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=EVIL)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with connect(url, origin="http://localhost:3000") as ws:  # type: ignore[arg-type]
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
        assert "data" in json.loads(ws.recv(timeout=10))


def test_the_config_route_reads_json_as_strictly_as_v1(live: BackgroundServer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for body in (deep, b'{"failureRate": NaN}', b'{"failureRate": 0.1, "failureRate": 0.2}', b"\xff"):
        answer = httpx.patch(f"{live.url}/_mock/config", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and "error" in answer.json(), body[:20]
    live.engine.configure({"maxBodyBytes": 1000})
    try:
        big = json.dumps({"apiKeys": ["k" * 2000]})
        answer = httpx.patch(f"{live.url}/_mock/config", content=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413
    finally:
        live.engine.configure({"maxBodyBytes": 20 * 1024 * 1024})
    assert live.engine.config.api_keys == ()
