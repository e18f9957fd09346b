"""The mock's limits, each with its documented error, over REST and WebSocket; retention bounds.

Live-socket behaviour (a 200 MB body, oversized headers, SIGTERM, outbound rules against real
receivers) is in the second half: servers bind 127.0.0.1 on free ports.
"""

from __future__ import annotations

import asyncio
import http
import json
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.sync.client import connect as ws_connect

from ideogram_kit import schemas
from ideogram_kit.payloads import MAX_DEPTH, JSONInputError, parse_json
from ideogram_mock import MockConfig, MockEngine, create_app
from ideogram_mock.server import BackgroundServer

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = {"Authorization": "Bearer k"}
PING = {"taskType": "ping", "ping": True}

#: The start of a raw POST /v1 (a loopback Host: the mock refuses foreign ones).
HEAD = b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\n"


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
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.localhost", headers=AUTH) as http:
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


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    """The mock on a socket, once on each HTTP parser: both answer the same."""
    with BackgroundServer(MockConfig(port=0, max_tasks_per_request=3, max_images_per_request=5,
                                     max_json_depth=8, http=request.param)) as live:  # fmt: skip
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


# -- outbound rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [("http://LOCALHOST:8/x", True), ("http://[::1]/x", True), ("http://127.0.0.1/x", True),
     ("http://[::ffff:127.0.0.1]/x", True),  # IPv4-mapped loopback, on every Python version
     ("http://localhost./x", False), ("http://0.0.0.0/x", False), ("http://127.1/x", False),
     ("http://2130706433/x", False), ("http://0x7f000001/x", False), ("http://[::ffff:10.0.0.1]/x", False),
     ("http://127.0.0.1.nip.io/x", False), ("http://127.0.0.1@evil.test/x", False),
     ("http://evil.test\\@127.0.0.1/x", True),  # both parsers (urllib, httpx) read host 127.0.0.1
     ("http://hooks.test/x", True), ("http://HOOKS.test/x", True), ("ftp://127.0.0.1/x", False),
     ("file:///etc/passwd", False)],
)  # fmt: skip
def test_outbound_target_forms(url: str, ok: bool) -> None:
    from ideogram_mock.delivery import check_target

    assert (check_target(url, ("hooks.test",)) is None) is ok
    if ok and "://" in url:
        assert httpx.URL(url).host in ("localhost", "::1", "127.0.0.1", "::ffff:127.0.0.1", "hooks.test")


class Receiver:
    """A loopback HTTP receiver on a free port whose answer is scripted per test (asyncio streams)."""

    def __init__(self, answer: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None) -> None:
        self.closed = asyncio.Event()
        self.answer = answer or self.hang  # by default: read the request, never answer
        self.calls: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.url = ""

    async def hang(self, writer: asyncio.StreamWriter) -> None:
        await self.closed.wait()

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.closed.set()
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                await reader.readexactly(length)
                self.calls.append(head.split(b"\r\n")[0])
                await self.answer(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def answer_200(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()


async def wait_for_deliveries(engine: MockEngine, count: int, **match: Any) -> list[dict[str, Any]]:
    """The final delivery records matching ``match``, once there are ``count`` of them (10 s at most)."""
    for _ in range(1000):
        found = [d for d in engine.deliveries() if d["final"] and all(d[k] == v for k, v in match.items())]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"not {count} final deliveries matching {match}: {engine.deliveries()}")


async def post_webhooks(engine: MockEngine, url: str, count: int) -> None:
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.localhost", headers=AUTH) as http:
        for _ in range(count):
            assert (await http.post("/v1", json=[task(webhookURL=url)])).status_code == 200


async def test_a_hanging_receiver_does_not_hold_up_the_others() -> None:
    async with Receiver() as hanging, Receiver(answer_200) as good:
        engine = MockEngine(MockConfig(delivery_per_host=2, delivery_concurrency=4, delivery_timeout=60,
                                       delivery_attempts=1))  # fmt: skip
        await post_webhooks(engine, hanging.url + "/hook", 6)
        await post_webhooks(engine, good.url + "/hook", 5)
        delivered = await wait_for_deliveries(engine, 5, outcome="delivered")
        assert {d["url"] for d in delivered} == {good.url + "/hook"}
        assert len(hanging.calls) == 2  # delivery_per_host: the other four wait their turn
        assert await engine.aclose(0) == {"finished": 0, "cancelled": 6}  # 2 in flight, 4 waiting: all recorded
        cancelled = [d for d in engine.deliveries() if d["outcome"] == "cancelled"]
        assert len(cancelled) == 6 and all(d["url"] == hanging.url + "/hook" for d in cancelled)


async def test_redirects_are_not_followed() -> None:
    async with Receiver(answer_200) as elsewhere:

        async def redirect(writer: asyncio.StreamWriter) -> None:
            writer.write(
                f"HTTP/1.1 302 Found\r\nLocation: {elsewhere.url}/stolen\r\nContent-Length: 0\r\n\r\n".encode()
            )
            await writer.drain()

        async with Receiver(redirect) as redirecting:
            engine = MockEngine(MockConfig(delivery_attempts=2, delivery_base_delay=0.01))
            await post_webhooks(engine, redirecting.url + "/hook", 1)
            [final] = await wait_for_deliveries(engine, 1)
            assert [d["statusCode"] for d in engine.deliveries()] == [302, 302]
            assert (final["outcome"], final["error"]) == ("failed", "HTTP 302")
            assert len(redirecting.calls) == 2 and elsewhere.calls == []
            await engine.aclose(0)


async def test_delivery_timeout_bounds_a_trickling_answer() -> None:
    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):  # one header byte every 50 ms: no single read waits long
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with Receiver(trickle) as slow:
        engine = MockEngine(MockConfig(delivery_attempts=1, delivery_timeout=0.3))
        await post_webhooks(engine, slow.url + "/hook", 1)
        [final] = await wait_for_deliveries(engine, 1)
        assert (final["outcome"], final["error"]) == ("failed", "no answer within delivery_timeout (0.3 s)")
        await engine.aclose(0)


async def test_a_huge_answer_body_is_not_read_whole() -> None:
    async def huge(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        for _ in range(1000):  # 64 MB at most, then the receiver gives up
            writer.write(b"x" * 65536)
            await writer.drain()

    async with Receiver(huge) as receiver:
        engine = MockEngine(MockConfig(delivery_attempts=1, delivery_timeout=30))
        await post_webhooks(engine, receiver.url + "/hook", 1)
        [final] = await wait_for_deliveries(engine, 1)
        assert (final["outcome"], final["statusCode"]) == ("delivered", 200)
        await engine.aclose(0)


# -- live sockets: huge bodies, oversized headers, shutdown ----------------------------------------------


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def read_response(sock: socket.socket) -> bytes:
    """Bytes of one HTTP response head and a short body (up to 10 s for the first byte)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith((b"}", b".")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_200_mb_body_gets_413_before_it_is_read_and_the_server_goes_on(
    server: BackgroundServer, framing: str
) -> None:
    total, piece = 200 * 2**20, b"x" * 2**20
    limit = server.engine.config.max_body_bytes
    head = b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nAuthorization: Bearer k\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n" if framing == "chunked" else b"Content-Length: %d\r\n\r\n" % total
    frame = (lambda data: b"%x\r\n%s\r\n" % (len(data), data)) if framing == "chunked" else (lambda data: data)
    with socket.create_connection(("127.0.0.1", port_of(server.url))) as sock:
        sock.sendall(head)
        sent = 0
        while sent <= limit and framing == "chunked":  # a chunked body: only just over the limit so far
            sock.sendall(frame(piece))
            sent += len(piece)
        answer = read_response(sock)  # answered although most of the body was never sent
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        error = json.loads(answer.split(b"\r\n\r\n", 1)[1])["errors"][0]
        assert (error["code"], error["max"]) == ("payloadTooLarge", limit)
        sock.settimeout(30)
        while sent < total:  # the rest of the 200 MB still arrives; the server throws it away
            sock.sendall(frame(piece))
            sent += len(piece)
        if framing == "chunked":
            sock.sendall(b"0\r\n\r\n")
    assert httpx.post(f"{server.url}/v1", json=[PING], headers=AUTH).json() == {
        "data": [{"taskType": "ping", "pong": True}]
    }


def http_error(answer: bytes) -> tuple[int, str, dict[str, Any]]:
    """(status, content type, the single item of ``errors``) of a raw HTTP error answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    envelope = json.loads(body)
    assert list(envelope) == ["data", "errors"] and envelope["data"] == [] and len(envelope["errors"]) == 1, envelope
    return int(lines[0].split()[1]), headers["content-type"], envelope["errors"][0]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (HEAD + b"X-Junk: " + b"j" * 64 * 1024, 431, "headersTooLarge"),  # over 16 KiB
        (b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nBad Header\r\n\r\n", 400, "invalidHttpRequest"),
        (b"NOT-HTTP\r\n\r\n", 400, "invalidHttpRequest"),
    ],
    ids=["oversized-headers", "malformed-header", "not-a-request-line"],
)
def test_what_http_cannot_parse_gets_a_runware_error_and_the_server_goes_on(
    server: BackgroundServer, raw: bytes, status: int, code: str
) -> None:
    with socket.create_connection(("127.0.0.1", port_of(server.url))) as sock:
        sock.sendall(raw)
        answer = read_response(sock)
    got_status, content_type, err = http_error(answer)
    assert (got_status, content_type, err["code"]) == (status, "application/json", code), answer[:300]
    assert answer.startswith(f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode())
    assert schemas.error_codes()[code].http_status == status
    assert httpx.post(f"{server.url}/v1", json=[PING], headers=AUTH).status_code == 200


def test_garbage_after_an_answered_request_closes_quietly(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The app answered 413 to a chunked body before its end; what follows is not valid chunking.

    h11 fails on it when no answer can be sent any more: the connection is closed, no traceback.
    """
    server.engine.configure({"maxBodyBytes": 1000})
    try:
        with socket.create_connection(("127.0.0.1", port_of(server.url))) as sock:
            sock.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"x" * 2000)
            answer = read_response(sock)
            assert http_error(answer)[2]["code"] == "payloadTooLarge"
            sock.sendall(b"\r\nzz\r\n")
            sock.settimeout(5)
            assert sock.recv(65536) == b"", "the connection is closed, with nothing more sent"
    finally:
        server.engine.configure({"maxBodyBytes": MockConfig().max_body_bytes})
    assert [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()] == []
    assert httpx.post(f"{server.url}/v1", json=[PING], headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v2", 404, "unknownEndpoint"),
        ("GET", "/v1", 405, "methodNotAllowed"),
        ("DELETE", "/_mock/reset", 405, "methodNotAllowed"),
        ("DELETE", "/_mock/config", 405, "methodNotAllowed"),
    ],
)
def test_unknown_routes_and_methods_get_runware_errors(
    server: BackgroundServer, method: str, path: str, status: int, code: str
) -> None:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/json")
    [err] = response.json()["errors"]
    assert err["code"] == code and path in err["message"]
    if status == 405:
        assert response.headers["allow"] and response.headers["allow"] in err["message"]
        expected = {"/v1": {"POST"}, "/_mock/reset": {"POST"}, "/_mock/config": {"GET", "PATCH", "POST"}}[path]
        assert expected <= set(response.headers["allow"].split(", "))


def test_sigterm_with_deliveries_hanging_and_a_client_that_never_finishes() -> None:
    from tests.test_mock_server import finish, start_cli

    process, url = start_cli()
    with socket.socket() as hanging, socket.create_connection(("127.0.0.1", port_of(url))) as slow_client:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)  # connections complete in the kernel; nothing ever answers
        try:
            settings = {"deliveryTimeout": 60, "deliveryAttempts": 1, "shutdownGrace": 0.5}
            assert httpx.patch(f"{url}/_mock/config", json=settings).status_code == 200
            hook = f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
            for _ in range(3):
                assert httpx.post(f"{url}/v1", json=[task(webhookURL=hook)], headers=AUTH).status_code == 200
            slow_client.sendall(b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nContent-Length: 100\r\n\r\n[")
            for _ in range(1000):  # the tasks are done (their webhooks under way)
                if all(t["status"] == "success" for t in httpx.get(f"{url}/_mock/tasks").json()):
                    break
            else:
                raise AssertionError("the webhook tasks did not finish")
        finally:
            code, out, err = finish(process, signal.SIGTERM)  # waits 20 s at most: far less than deliveryTimeout
        slow_client.settimeout(10)
        assert slow_client.recv(100) == b""  # dropped at the end of the grace time
    assert code == 0, err
    assert "Traceback" not in out + err, err
    assert "0 pending deliveries/tasks finished, 3 cancelled" in out, out


async def test_a_sync_request_cut_short_by_shutdown_is_answered_with_its_task_error() -> None:
    engine = MockEngine(MockConfig(latency_min=30, latency_max=30))
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.localhost", headers=AUTH) as http:
        request = asyncio.ensure_future(http.post("/v1", json=[task()]))
        while not engine.pending:
            await asyncio.sleep(0)
        assert await engine.aclose(0) == {"finished": 0, "cancelled": 1}
        response = await request
    error = only_error(response)
    assert (response.status_code, error["code"]) == (500, "providerError")
    assert "cancelled" in error["message"]


# -- memory is bounded in bytes, answers in size ------------------------------------------------------


def _engine_app(**settings: Any) -> tuple[MockEngine, httpx.AsyncClient]:
    engine = MockEngine(MockConfig(**settings))
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    return engine, httpx.AsyncClient(transport=transport, base_url="http://m.localhost", headers=AUTH)


def _task(**changes: Any) -> dict[str, Any]:
    return {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), **changes}


async def test_many_unknown_keys_give_a_capped_report_in_the_answer_and_the_log() -> None:
    engine, http = _engine_app()
    async with http:
        flood = _task(**{f"unknown{i}": i for i in range(3_000)})  # under the 64 KiB kept verbatim in the log
        answer = await http.post("/v1", json=[flood])
        errors = answer.json()["errors"]
        assert answer.status_code == 400 and len(errors) == 101 and errors[-1]["code"] == "tooManyErrors"
        (entry,) = engine.requests()
        assert len(entry["tasks"][0]["errors"]) <= 101 and len(entry["response"]["errors"]) == 101


async def test_inspection_never_inlines_image_data_and_pages_its_answers() -> None:
    _, http = _engine_app()
    async with http:
        for _ in range(3):
            answer = await http.post("/v1", json=[_task(numberResults=2, outputType="base64Data")])
            assert len(answer.json()["data"][0]["imageBase64Data"]) > 10_000  # the client gets the image
        tasks = await http.get("/_mock/tasks")
        assert tasks.headers["X-Total-Count"] == "3" and len(tasks.content) < 20_000
        for run in tasks.json():
            assert all(r["imageBase64Data"].startswith("(omitted from the log") for r in run["results"])
        page = await http.get("/_mock/tasks?limit=2&offset=0")
        assert len(page.json()) == 2 and 'rel="next"' in page.headers["Link"]
        newest = await http.get("/_mock/requests?limit=1")
        assert [e["id"] for e in newest.json()] == [3]  # by default the newest page
        assert (await http.get("/_mock/requests?limit=0")).status_code == 400
        assert (await http.get("/_mock/requests?offset=x")).status_code == 400


async def test_remembered_results_stay_within_their_byte_budget() -> None:
    engine, http = _engine_app(max_result_bytes=300_000)
    async with http:
        sent = [_task(numberResults=2, outputType="base64Data", outputFormat="PNG") for _ in range(8)]
        for task in sent:
            assert (await http.post("/v1", json=[task])).status_code == 200
        kept = {t["taskUUID"] for t in engine.tasks()}
        assert engine._result_bytes <= 300_000 and 0 < len(kept) < 8
        assert kept == {t["taskUUID"] for t in sent[-len(kept) :]}  # the oldest went first
        poll = await http.post("/v1", json=[{"taskType": "getResponse", "taskUUID": sent[0]["taskUUID"]}])
        assert poll.json()["errors"][0]["code"] == "taskNotFound"


async def test_the_request_log_stays_within_its_byte_budget() -> None:
    engine, http = _engine_app(request_log_bytes=800_000)
    async with http:
        for _ in range(20):
            await http.post("/v1", json=[_task(positivePrompt="x" * 30_000)])
        log = engine.requests()
        assert sum(e["logBytes"] for e in log) <= 800_000 and 3 <= len(log) < 20
        assert [e["id"] for e in log] == list(range(21 - len(log), 21))  # the newest kept, oldest dropped


# -- connections that never finish a request are closed --------------------------------------------------


def _read_until_closed(sock: socket.socket, limit: float = 30) -> bytes:
    """Everything the server sends until it closes the connection (``limit`` s at most, a safety net)."""
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (b"", None),  # opened and never used: closed without a word
        (b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nAuthorization: Bearer k\r\n", "requestTimeout"),  # slow headers
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\n[{}, \r\n", "requestTimeout"),  # a never-ending body
        (HEAD + b"Content-Length: 100\r\n\r\n[", "requestTimeout"),  # a body that stops short
    ],
    ids=["idle", "slow-headers", "endless-chunked", "short-body"],
)
@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_connections_that_never_finish_a_request_are_closed(sent: bytes, code: str | None, parser: str) -> None:
    with BackgroundServer(MockConfig(port=0, header_timeout=0.3, body_timeout=0.3, http=parser)) as live:
        with socket.create_connection(("127.0.0.1", port_of(live.url))) as sock:
            sock.sendall(sent)
            answer = _read_until_closed(sock)
        if code is None:
            assert answer == b""
        else:
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert http_error(answer)[2]["code"] == code
        assert httpx.post(f"{live.url}/v1", json=[{"taskType": "ping"}], headers=AUTH).status_code == 200


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_kept_alive_connection_is_closed_when_it_goes_quiet_and_websockets_are_not_touched(parser: str) -> None:
    with BackgroundServer(MockConfig(port=0, header_timeout=0.3, body_timeout=0.3, http=parser)) as live:
        with socket.create_connection(("127.0.0.1", port_of(live.url))) as sock:
            ping = b'[{"taskType":"ping"}]'
            sock.sendall(HEAD + b"Authorization: Bearer k\r\nContent-Length: 21\r\n\r\n" + ping)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            assert _read_until_closed(sock) == b""  # then quiet: closed, no answer owed
        with ws_connect(live.url.replace("http://", "ws://") + "/v1") as ws:  # the timeouts end at the upgrade
            ws.send(json.dumps([{"taskType": "authentication", "apiKey": "k"}]))
            ws.recv(timeout=10)
            with pytest.raises(TimeoutError):
                ws.recv(timeout=1.0)  # quiet for three header_timeouts: still open
            ws.send(json.dumps([{"taskType": "ping"}]))
            assert json.loads(ws.recv(timeout=10)) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_an_inspection_page_never_passes_its_byte_cap() -> None:
    from ideogram_mock import dashboard

    _, http = _engine_app()
    async with http:
        for _ in range(80):  # 80 log entries of ~60 KiB each (kept verbatim up to 64 KiB): past the 4 MiB cap
            await http.post("/v1", json=[_task(junk="z" * 60_000)])
        newest = await http.get("/_mock/requests")
        assert len(newest.content) <= dashboard.PAGE_BYTES and newest.headers["X-Total-Count"] == "80"
        page = newest.json()
        assert 1 <= len(page) < 80 and page[-1]["id"] == 80  # the newest, cut at the cap
        first = await http.get("/_mock/requests?offset=0")
        assert first.json()[0]["id"] == 1 and 'rel="next"' in first.headers["Link"]


async def test_a_proxy_in_the_environment_does_not_divert_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell often sets HTTP_PROXY; the mock's deliveries still go straight to the receiver.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with Receiver(answer_200) as good:
        engine = MockEngine(MockConfig(delivery_attempts=1))
        await post_webhooks(engine, good.url + "/hook", 1)
        [final] = await wait_for_deliveries(engine, 1)
        assert (final["outcome"], final["statusCode"]) == ("delivered", 200)
        assert len(good.calls) == 1
        await engine.aclose(0)
