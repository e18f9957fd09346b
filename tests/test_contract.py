"""``ideogram-kit contract``: the mock checked against a target, offline (every target is on loopback).

The targets: the kit's own live server (everything agrees), a proxy in front of it that rewrites
one error code and drops one field (exactly those cases differ; ``--record`` then teaches a mock
the proxy's dialect), a server that refuses every key, one that answers 429 twice first.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ideogram_kit import contract, validate
from ideogram_kit.cli import main
from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.server import BackgroundServer

#: How many free cases a run sends (one per kind of mistake and parameter, plus the invalid key).
N = len(contract.cases())
Rewrite = Callable[[int, int, dict[str, Any]], tuple[int, dict[str, Any]]]  # (request n, status, answer)


@pytest.fixture(scope="module")
def upstream() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, api_keys=("real-key",))) as server:
        yield server


@contextmanager
def target(upstream_url: str | None, rewrite: Rewrite | None = None) -> Iterator[tuple[str, list[Any]]]:
    """A loopback HTTP server that forwards POST /v1 to ``upstream_url`` (and lets ``rewrite`` change
    the answer), or answers 401 to everything when ``upstream_url`` is None; yields its /v1 URL and
    the list of bodies it received."""
    received: list[Any] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            if upstream_url is None:
                status, answer = 401, {"errors": [{"code": "invalidApiKey", "message": "Invalid API key."}]}
            else:
                headers = {"Authorization": self.headers["Authorization"], "Content-Type": "application/json"}
                response = httpx.post(upstream_url, content=body, headers=headers)
                status, answer = response.status_code, response.json()
                if rewrite is not None:
                    status, answer = rewrite(len(received), status, answer)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()


def run_cli(*args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    err = io.StringIO()
    import sys

    saved, sys.stderr = sys.stderr, err
    try:
        code = main(["contract", "--delay", "0", "--backoff", "0.01", *args], stdout=out)
    finally:
        sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def test_the_kits_own_server_agrees_on_every_case(upstream: BackgroundServer) -> None:
    code, out, err = run_cli("--base-url", upstream.url + "/v1", "--api-key", "real-key")
    assert code == 0, out
    assert err.startswith(f"ideogram-kit contract: {N} requests to ") and "0 billable" in err
    assert out.splitlines()[-1] == f"{N} cases against {upstream.url}/v1: {N} agree, 0 differ"


def test_over_websocket_too(upstream: BackgroundServer) -> None:
    code, out, _ = run_cli("--base-url", upstream.url + "/v1", "--api-key", "real-key", "--transport", "ws")
    assert code == 0, out
    assert out.splitlines()[-1].endswith(f"{N} agree, 0 differ")


def _dialect(_: int, status: int, answer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The proxy's own dialect: another code for one mistake, one field fewer on another."""
    for error in answer.get("errors", []):
        if error.get("parameter") == "numberResults" and error["code"] == "invalidNumberResults":
            error["code"] = "invalidNumberOfResults"
        if error.get("parameter") == "providerSettings.ideogram.remixStrength":
            error.pop("documentation", None)
    return status, answer


def test_a_target_in_another_dialect_differs_exactly_there_and_teaches_the_mock(
    upstream: BackgroundServer, tmp_path: Path, _mock_envelopes_match_response_schema: list[str]
) -> None:
    recording = tmp_path / "target.json"
    with target(upstream.url + "/v1", _dialect) as (url, _):
        code, out, _ = run_cli(
            "--base-url", url, "--api-key", "real-key", "--record", str(recording), "--format", "json"
        )
    assert code == 1
    report = json.loads(out)
    differing = {c["name"]: c["differences"] for c in report["cases"] if not c["agrees"]}
    number = [n for n in differing if n.endswith(" numberResults")]
    strength = [n for n in differing if n.endswith(" providerSettings.ideogram.remixStrength")]
    assert set(differing) == {*number, *strength} and number and strength
    assert all(d == ["code: mock 'invalidNumberResults', target 'invalidNumberOfResults'"] for n in number
               for d in [differing[n]])  # fmt: skip
    assert all(
        differing[n] == ["fields: only the mock has ['documentation'], only the target has []"] for n in strength
    )
    saved = recording.read_text()
    assert "real-key" not in saved and json.loads(saved)["format"] == "ideogram-kit-contract/1"

    async def ask(task: dict[str, Any]) -> httpx.Response:
        app = create_app(engine=MockEngine(MockConfig(fidelity_file=str(recording))))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m.localhost") as c:
            return await c.post("/v1", json=[task], headers={"Authorization": "Bearer k"})

    import asyncio

    task = {**contract._docs_example(), "numberResults": 0}
    error = asyncio.run(ask(task)).json()["errors"][0]
    assert (error["code"], error["parameter"], error["taskUUID"]) == ("invalidNumberOfResults", "numberResults",
                                                                      task["taskUUID"])  # fmt: skip
    strong = contract._docs_example()
    strong["providerSettings"]["ideogram"]["remixStrength"] = 0
    error = asyncio.run(ask(strong)).json()["errors"][0]
    assert error["code"] == "invalidRemixStrength" and "documentation" not in error
    # a learnt code is the target's, not in the kit's catalogue: the suite's envelope check does not apply
    assert _mock_envelopes_match_response_schema == [
        "$.errors[0].code: 'invalidNumberOfResults' is not valid under any of the given schemas"
    ]
    _mock_envelopes_match_response_schema.clear()


def test_a_refused_key_is_exit_2_with_one_line() -> None:
    with target(None) as (url, _):
        code, out, err = run_cli("--base-url", url, "--api-key", "whatever")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == "ideogram-kit contract: error: the target refused the API key (HTTP 401 on case " \
        "'missingParameter taskType')"  # fmt: skip


def test_an_unreachable_target_is_exit_2_with_one_line() -> None:
    with target(None) as (url, _):
        pass  # closed again: nothing listens there now
    code, out, err = run_cli("--base-url", url, "--api-key", "k")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1].startswith("ideogram-kit contract: error: the target http://127.0.0.1:")
    assert "cannot be reached" in err and "Traceback" not in err


def test_429_is_backed_off_and_retried(upstream: BackgroundServer) -> None:
    def busy_twice(n: int, status: int, answer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if n <= 2:
            return 429, {"errors": [{"code": "rateLimitExceeded", "message": "Queue capacity exceeded."}]}
        return status, answer

    with target(upstream.url + "/v1", busy_twice) as (url, received):
        code, out, _ = run_cli("--base-url", url, "--api-key", "real-key")
    assert code == 0, out
    assert len(received) == N + 2 and received[0] == received[1] == received[2]  # the first case, three times


def test_spend_0_sends_no_valid_image_task(upstream: BackgroundServer) -> None:
    with target(upstream.url + "/v1") as (url, received):
        run_cli("--base-url", url, "--api-key", "real-key")
    assert len(received) == N
    for body in received:
        assert validate(body), f"a valid (billable) request was sent: {body}"


def test_spend_n_compares_results_and_checks_the_images(upstream: BackgroundServer) -> None:
    code, out, err = run_cli("--base-url", upstream.url + "/v1", "--api-key", "real-key", "--spend", "2")
    assert "2 billable (--spend)" in err
    assert code == 0, out
    assert out.splitlines()[-1].endswith(f"{N + 2} agree, 0 differ")


def test_a_missing_key_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    code, _, err = run_cli("--base-url", "http://127.0.0.1:9/v1")
    assert code == 2 and "no API key" in err
