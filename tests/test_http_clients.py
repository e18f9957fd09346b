"""Every HTTP client in process: ``ideogram_mock`` answers httpx, requests and aiohttp alike; the
network guard stops whatever reaches for Runware's API unanswered; the example projects pass."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import requests
import responses
from aioresponses import aioresponses

from ideogram_kit import network_guard
from ideogram_kit.pytest_support import IdeogramMock, WebhookReceiver

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent
TASK = json.loads((ROOT / "examples" / "docs-example.json").read_text())
RUNWARE = "https://api.runware.ai/v1"
AUTH = {"Authorization": "Bearer test-key"}

#: (status, Content-Type, Retry-After, body: parsed JSON, or the SHA-256 of anything else)
Exchange = tuple[int, str | None, str | None, Any]
Client = Callable[[str, str, Any, dict[str, str]], Exchange]


def fresh() -> dict[str, Any]:
    """The docs example with a taskUUID of its own (a repeated one is refused as a conflict)."""
    return {**TASK, "taskUUID": str(uuid.uuid4())}


def _exchange(status: int, headers: Any, content: bytes) -> Exchange:
    kind = headers.get("content-type")
    body = json.loads(content) if kind == "application/json" else hashlib.sha256(content).hexdigest()
    return status, kind, headers.get("retry-after"), body


def via_httpx(method: str, url: str, body: Any, headers: dict[str, str]) -> Exchange:
    answer = httpx.request(method, url, json=body, headers=headers, timeout=10)
    return _exchange(answer.status_code, answer.headers, answer.content)


def via_requests(method: str, url: str, body: Any, headers: dict[str, str]) -> Exchange:
    answer = requests.request(method, url, json=body, headers=headers, timeout=10)
    return _exchange(answer.status_code, answer.headers, answer.content)


def via_aiohttp(method: str, url: str, body: Any, headers: dict[str, str]) -> Exchange:
    async def call() -> Exchange:
        async with aiohttp.ClientSession() as session, session.request(method, url, json=body, headers=headers) as r:
            return _exchange(r.status, r.headers, await r.read())

    return asyncio.run(call())


def scenario(client: Client) -> list[Exchange]:
    """The same calls through ``client``, each mock fresh with the same seed."""
    bad = copy.deepcopy(TASK)
    bad["providerSettings"]["ideogram"]["remixStrength"] = 500
    with IdeogramMock() as mock:
        seen = [client("POST", RUNWARE, [{**TASK, "numberResults": 2}], AUTH)]
        urls = [item["imageURL"] for item in seen[0][3]["data"]]
        seen += [client("GET", url, None, {}) for url in urls]
        seen.append(client("HEAD", urls[0], None, {}))
        seen.append(client("POST", RUNWARE, [bad], AUTH))
        mock.fail_next("rateLimitExceeded")
        seen.append(client("POST", RUNWARE, [TASK], AUTH))
        seen.append(client("POST", RUNWARE, [TASK], {}))  # no API key
        seen.append(client("GET", RUNWARE + "?page=2", None, AUTH))
    return seen


def test_httpx_requests_and_aiohttp_get_the_same_answers_images_included() -> None:
    by_httpx = scenario(via_httpx)

    assert [(status, kind, retry) for status, kind, retry, _ in by_httpx] == [
        (200, "application/json", None),
        (200, "image/jpeg", None),
        (200, "image/jpeg", None),
        (200, "image/jpeg", None),
        (400, "application/json", None),
        (429, "application/json", "1"),
        (401, "application/json", None),
        (405, "application/json", None),
    ]
    assert by_httpx[1][3] != by_httpx[2][3]  # two different images
    assert by_httpx[3][3] == hashlib.sha256(b"").hexdigest()  # HEAD: no body
    assert by_httpx[4][3]["errors"][0]["parameter"] == "providerSettings.ideogram.remixStrength"
    assert scenario(via_requests) == by_httpx
    assert scenario(via_aiohttp) == by_httpx


def test_a_read_timeout_is_the_clients_own(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.set_latency(0.5)
    with pytest.raises(requests.exceptions.ReadTimeout, match=r"did not answer within 0\.05 s"):
        requests.post(RUNWARE, json=[fresh()], headers=AUTH, timeout=(1, 0.05))

    async def call() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            await session.post(RUNWARE, json=[fresh()], headers=AUTH, timeout=aiohttp.ClientTimeout(total=0.05))

    async def call_with_seconds() -> None:  # a per-request timeout in seconds, as aiohttp also takes
        async with aiohttp.ClientSession() as session:
            await session.post(RUNWARE, json=[fresh()], headers=AUTH, timeout=0.05)

    for each in (call, call_with_seconds):
        with pytest.raises(asyncio.TimeoutError, match=r"did not answer within 0\.05 s"):
            asyncio.run(each())


@pytest.mark.ideogram(allow_invalid=True)  # the form body below is refused on purpose
def test_aiohttp_sends_session_headers_params_and_bodies_as_aiohttp_would(ideogram_mock: IdeogramMock) -> None:
    task = fresh()

    async def calls() -> list[int]:
        async with aiohttp.ClientSession(headers=AUTH, base_url="https://api.runware.ai") as session:
            statuses = []
            async with session.post("/v1", params={"trace": "1"}, data=json.dumps([task]).encode(),
                                    headers={"Content-Type": "application/json"}) as answer:  # fmt: skip
                statuses.append(answer.status)
            async with session.post("/v1", data={"taskType": "imageInference"}) as answer:  # a form
                statuses.append(answer.status)
            async with session.post("/v1", data=[("taskType", "imageInference")]) as answer:  # a form too
                statuses.append(answer.status)
            async with session.post("/v1", data=json.dumps([fresh()])) as answer:  # text/plain
                statuses.append(answer.status)
            with pytest.raises(TypeError, match="cannot read an aiohttp data= of type FormData: send json="):
                await session.post("/v1", data=aiohttp.FormData({"a": "b"}))
            return statuses

    assert asyncio.run(calls()) == [200, 415, 415, 415]
    logged = ideogram_mock.requests
    assert [r["status"] for r in logged] == [200, 415, 415, 415]
    assert logged[0]["body"] == [task]


@pytest.mark.ideogram(allow_invalid=True)  # the form body below is refused on purpose
def test_requests_sends_its_bodies_as_requests_would(ideogram_mock: IdeogramMock) -> None:
    with requests.Session() as session:
        session.headers.update(AUTH)
        assert session.post(RUNWARE, data=json.dumps([fresh()]), headers={"Content-Type": "application/json"}).ok
        assert session.post(RUNWARE, data={"taskType": "imageInference"}).status_code == 415
        text = json.dumps([fresh()])
        chunks = (part.encode() for part in (text[:10], text[10:]))
        assert session.post(RUNWARE, data=chunks, headers={"Content-Type": "application/json"}).ok
    assert [r["status"] for r in ideogram_mock.requests] == [200, 415, 200]


def test_other_hosts_pass_through(ideogram_mock: IdeogramMock, ideogram_webhook_receiver: WebhookReceiver) -> None:
    assert requests.post(ideogram_webhook_receiver.url_for("/by-requests"), data=b"r", timeout=10).ok

    async def call() -> int:
        url = ideogram_webhook_receiver.url_for("/by-aiohttp")
        async with aiohttp.ClientSession() as session, session.post(url, data=b"a") as answer:
            return answer.status

    assert asyncio.run(call()) == 200
    assert [(a.path, a.body) for a in ideogram_webhook_receiver.attempts] == [
        ("/by-requests", b"r"),
        ("/by-aiohttp", b"a"),
    ]
    assert ideogram_mock.requests == []


@pytest.fixture
def users_responses() -> Iterator[responses.RequestsMock]:
    """A test's own ``responses`` mock, started before ``ideogram_mock``."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://other.example/status", status=204)
        yield mock


def test_beside_a_users_responses_mock(users_responses: responses.RequestsMock, ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.responses.get("https://added.example/", json={"added": True})

    assert requests.get("https://other.example/status", timeout=10).status_code == 204  # the user's route
    assert requests.get("https://added.example/", timeout=10).json() == {"added": True}
    assert requests.post(RUNWARE, json=[fresh()], headers=AUTH, timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError, match="Connection refused by Responses"):
        requests.get("https://unmocked.example/", timeout=10)  # the user's mock refuses it, as without the kit


def test_routes_added_to_the_mocks_aioresponses(ideogram_mock: IdeogramMock) -> None:
    ideogram_mock.aioresponses.get("https://added.example/", payload={"added": True})

    async def calls() -> tuple[Any, int]:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            async with session.get("https://added.example/") as added:
                body = await added.json()
            async with session.post(RUNWARE, json=[fresh()]) as runware:
                return body, runware.status

    assert asyncio.run(calls()) == ({"added": True}, 200)


def test_stop_puts_every_client_back() -> None:
    send, request = requests.adapters.HTTPAdapter.send, aiohttp.ClientSession._request
    with IdeogramMock() as mock:
        assert requests.adapters.HTTPAdapter.send is not send
        assert aiohttp.ClientSession._request is not request
        assert isinstance(mock.aioresponses, aioresponses)

    assert requests.adapters.HTTPAdapter.send is send
    assert aiohttp.ClientSession._request is request
    with pytest.raises(RuntimeError, match="not started"):
        mock.responses  # noqa: B018 - the property checks
    with pytest.raises(RuntimeError, match="not started"):
        mock.aioresponses  # noqa: B018


# ---------------------------------------------------------------------------------------------
# The network guard
# ---------------------------------------------------------------------------------------------

GUARDED = '''
import asyncio, socket, sys

import aiohttp, httpx, pytest, requests

URL = "https://api.runware.ai/v1"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No DNS in these tests: the lookup is audited as the real one is, then fails."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host in ("127.0.0.1", "localhost"):  # ideogram_server's own calls
            return real(host, port, family, type, proto, flags)
        sys.audit("socket.getaddrinfo", host, port, family, type, proto)
        raise socket.gaierror(-2, f"offline: {host} not resolved")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_httpx():
    httpx.get(URL)


def test_httpx_async():
    async def call():
        async with httpx.AsyncClient() as client:
            await client.get(URL)
    asyncio.run(call())


def test_requests():
    requests.get(URL, timeout=5)


def test_aiohttp():
    async def call():
        async with aiohttp.ClientSession() as session:
            await session.get(URL)
    asyncio.run(call())


def test_websocket_host_plain_socket():
    socket.create_connection(("ws-api.runware.ai", 443), timeout=5)


def test_an_app_that_swallows_errors():
    try:
        httpx.get(URL)
    except Exception:
        pass


def test_answered_by_ideogram_mock(ideogram_mock):
    assert requests.get(URL, timeout=5).status_code == 405


def test_answered_by_ideogram_server(ideogram_server):
    assert requests.get(ideogram_server.base_url, timeout=5).status_code == 405


def test_other_hosts_are_not_guarded():
    with pytest.raises(socket.gaierror, match="offline: example.invalid"):
        socket.getaddrinfo("example.invalid", 443)
'''

GUARD_MESSAGE = (
    "ideogram network guard: this test tried to reach Runware's API ({where}) and no fixture answered it.\n"
    "Use the ideogram_mock fixture (answers httpx, requests and aiohttp in process), or ideogram_server (a mock on "
    "127.0.0.1: point the app at ideogram_server.base_url, or ideogram_server.ws_url for WebSockets).\n"
    "To let tests call the real API, set `ideogram_network_guard = false` in the pytest ini file."
)


def failures(result: pytest.RunResult) -> dict[str, str]:
    """Each failed test of an in-process run: its name, and its failure's lines without pytest's ``E`` margin."""
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {
        report.nodeid.split("::")[-1]: "\n".join(
            line.removeprefix("E").strip() for line in report.longreprtext.splitlines()
        )
        for report in reports
        if report.failed
    }


def test_the_guard_fails_unanswered_runware_calls_from_every_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guarded=GUARDED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=6, passed=3)
    failed = failures(result)
    rest = GUARD_MESSAGE.format(where="api.runware.ai:443")
    for name in ("test_httpx", "test_httpx_async", "test_requests", "test_aiohttp"):
        assert f"\nideogram_kit.network_guard.UnansweredRunwareRequest: {rest}\n" in failed[name], name
    ws = GUARD_MESSAGE.format(where="ws-api.runware.ai:443")
    assert (
        f"\nideogram_kit.network_guard.UnansweredRunwareRequest: {ws}\n" in failed["test_websocket_host_plain_socket"]
    )
    # the app swallowed the exception: the test fails all the same, with the guard's words
    assert failed["test_an_app_that_swallows_errors"] == rest


def test_the_guard_sees_lookups_and_connections_by_name_in_any_spelling() -> None:
    guard = network_guard.activate({"guarded.test"})
    try:
        for event, args in [
            ("socket.getaddrinfo", ("guarded.test", 443, 0, 1, 0)),
            ("socket.getaddrinfo", (b"GUARDED.test.", 80, 0, 1, 0)),  # bytes, any case, a trailing dot
            ("socket.gethostbyname", ("guarded.test",)),
            ("socket.gethostbyname_ex", ("guarded.test",)),
            ("socket.connect", (None, ("guarded.test", 8443))),
        ]:
            with pytest.raises(network_guard.UnansweredRunwareRequest, match=r"Runware's API \(guarded\.test"):
                sys.audit(event, *args)
        sys.audit("socket.getaddrinfo", "other.test", 443, 0, 1, 0)  # other hosts, addresses: let through
        sys.audit("socket.connect", None, ("127.0.0.1", 443))
        sys.audit("socket.connect", None, "/tmp/a-unix-socket")
        stopped = guard.take()
        assert [line.splitlines()[0] for line in stopped] == [
            "ideogram network guard: this test tried to reach Runware's API (guarded.test:443) and no fixture "
            "answered it.",
            "ideogram network guard: this test tried to reach Runware's API (guarded.test:80) and no fixture "
            "answered it.",
            "ideogram network guard: this test tried to reach Runware's API (guarded.test) and no fixture answered it.",
            "ideogram network guard: this test tried to reach Runware's API (guarded.test:8443) and no fixture "
            "answered it.",
        ]  # each message once
        assert guard.take() == []
    finally:
        network_guard.deactivate(guard)
    sys.audit("socket.getaddrinfo", "guarded.test", 443, 0, 1, 0)  # off again


def test_the_ini_switch_turns_the_guard_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_guarded=GUARDED)
    pytester.makeini("[pytest]\nideogram_network_guard = false\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=5, passed=4)  # the swallowing app passes again
    assert "network guard" not in result.stdout.str()
    failed = failures(result)
    # each call went on to the (faked, offline) name lookup and failed the client's own way
    assert "\nhttpx.ConnectError: [Errno -2] offline: api.runware.ai not resolved" in failed["test_httpx"]
    assert "\nhttpx.ConnectError: [Errno -2] offline: b'api.runware.ai' not resolved" in failed["test_httpx_async"]
    assert "\nrequests.exceptions.ConnectionError: " in failed["test_requests"]
    assert "\naiohttp.client_exceptions.ClientConnectorDNSError: " in failed["test_aiohttp"]
    assert "\nsocket.gaierror: [Errno -2] offline: ws-api.runware.ai" in failed["test_websocket_host_plain_socket"]


def test_the_guard_stays_out_of_the_way_of_answered_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_answered="""
        import requests

        def test_answered(ideogram_mock):
            assert requests.get("https://api.runware.ai/v1", timeout=5).status_code == 405
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# ---------------------------------------------------------------------------------------------
# The example projects
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("project", ["requests_app", "aiohttp_app"])
def test_the_example_project_passes_with_only_the_kit_installed(pytester: pytest.Pytester, project: str) -> None:
    for path in (ROOT / "examples" / project).glob("*.py"):
        shutil.copy(path, pytester.path / path.name)
    # no conftest, no ini: the fixtures come from the kit's pytest11 entry point
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_remix_returns_the_new_image PASSED*"])


# ---------------------------------------------------------------------------------------------
# The guide's examples (docs/guide/http-clients.md includes them)
# ---------------------------------------------------------------------------------------------

GUIDE = ROOT / "docs" / "guide" / "http-clients.md"


def test_the_guides_examples_pass(pytester: pytest.Pytester) -> None:
    for name in ("other_hosts.py", "webhook_attempts.py"):
        shutil.copy(ROOT / "examples" / name, pytester.path / f"test_{name}")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_the_guide_shows_the_guards_real_report(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "examples" / "network_guard.py", pytester.path / "test_network_guard.py")
    shown = re.search(r'--8<-- "examples/network_guard\.py"\n```\n\n```text\n(.*?)```', GUIDE.read_text(), re.S)
    assert shown is not None
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([re.sub(r"([\[\]*?])", r"[\1]", line) for line in shown.group(1).splitlines()])
