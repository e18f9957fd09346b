"""The mock's two HTTP/1.1 parsers (setting ``http``: httptools, the default, and h11) read the wire alike.

The httptools protocol counts a request's head itself (llhttp bounds nothing): a head that
arrives in pieces, a head just under the 16 KiB limit, pipelined requests and a head that never
ends must be handled as the h11 protocol handles them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ideogram_mock import MockConfig
from ideogram_mock.http_protocols import HEAD_LIMIT
from ideogram_mock.server import BackgroundServer

PING = b'[{"taskType":"ping"}]'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, http=request.param)) as live:
        yield live


def _connect(server: BackgroundServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    sock.settimeout(10)
    return sock


def _ping_request(extra: bytes = b"") -> bytes:
    return (b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
            + extra + b"Content-Length: %d\r\n\r\n" % len(PING) + PING)  # fmt: skip


def _answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, object]]]:
    """``count`` whole answers (status, JSON body) read off ``sock``."""
    data, answers = b"", []
    while len(answers) < count:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            size = int(headers[b"content-length"])
            if len(rest) >= size:
                answers.append((int(head.split()[1]), json.loads(rest[:size])))
                data = rest[size:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed after {len(answers)} answers"
        data += chunk
    return answers


def test_a_head_sent_a_byte_at_a_time_is_read(server: BackgroundServer) -> None:
    with _connect(server) as sock:
        request = _ping_request()
        for i in range(len(request)):
            sock.send(request[i : i + 1])
        assert _answers(sock, 1) == [(200, {"data": [{"taskType": "ping", "pong": True}]})]


def test_a_head_just_under_the_limit_is_accepted_in_pieces(server: BackgroundServer) -> None:
    padding = b"X-Pad: " + b"p" * (HEAD_LIMIT - 400) + b"\r\n"
    request = _ping_request(padding)
    assert len(request.partition(b"\r\n\r\n")[0]) < HEAD_LIMIT
    with _connect(server) as sock:
        for start in range(0, len(request), 1000):
            sock.sendall(request[start : start + 1000])
        assert _answers(sock, 1)[0][0] == 200


def test_pipelined_requests_are_all_answered_in_order(server: BackgroundServer) -> None:
    unknown = _ping_request().replace(PING, b'[{"taskType":"nonsense"}]').replace(b"Length: 21", b"Length: 25")
    with _connect(server) as sock:
        sock.sendall(_ping_request() + unknown + _ping_request())
        (s1, b1), (s2, b2), (s3, b3) = _answers(sock, 3)
    assert (s1, s3) == (200, 200) and b1 == b3 == {"data": [{"taskType": "ping", "pong": True}]}
    assert s2 == 400 and b2["errors"][0]["code"] == "unsupportedTaskType"  # type: ignore[index]


@pytest.mark.parametrize("shape", ["many header lines", "one endless header value"])
def test_a_head_that_never_ends_is_cut_at_the_limit(server: BackgroundServer, shape: str) -> None:
    """The head keeps coming, never its blank line: the answer comes once it passes 16 KiB, while the
    client is still sending (the server does not buffer an endless head)."""
    lines = shape == "many header lines"
    with _connect(server) as sock:
        sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\n" + (b"" if lines else b"X-Endless: "))
        answer = b""
        for i in range(HEAD_LIMIT // 16 * 8):  # up to 8x the limit, 16 bytes at a time
            try:
                sock.sendall(b"X-H%05d: abcde\r\n" % i if lines else b"a" * 16)
            except (BrokenPipeError, ConnectionResetError):
                break
            if i % 64 == 0 and i * 16 > HEAD_LIMIT:
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    answer += sock.recv(65536)
                sock.settimeout(10)
                if answer:
                    break
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["errors"][0]["code"] == "headersTooLarge"


def test_an_http_1_0_request_without_host_gets_image_urls_on_the_bound_address(server: BackgroundServer) -> None:
    task = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())
    body = json.dumps([{**task, "taskUUID": str(uuid.uuid4())}]).encode()
    with _connect(server) as sock:
        sock.sendall(b"POST /v1 HTTP/1.0\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)  # fmt: skip
        [(status, answer)] = _answers(sock, 1)
    assert status == 200
    assert answer["data"][0]["imageURL"].startswith(f"{server.url}/images/")  # type: ignore[index]


@pytest.mark.anyio
async def test_a_bug_in_the_engine_gives_a_plain_500_and_is_raised_for_the_log() -> None:
    import httpx

    from ideogram_mock import MockEngine, create_app

    engine = MockEngine(MockConfig())

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    engine.handle_rest = broken  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=create_app(engine=engine), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://m.localhost") as client:
        answer = await client.post("/v1", json=[{"taskType": "ping"}], headers={"Authorization": "Bearer k"})
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8" and answer.headers["content-length"] == "21"
    strict = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(transport=strict, base_url="http://m.localhost") as client:
        with pytest.raises(RuntimeError, match="a bug"):
            await client.post("/v1", json=[{"taskType": "ping"}], headers={"Authorization": "Bearer k"})


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_after_an_early_answer_the_connection_still_has_a_deadline(parser: str) -> None:
    """413 from the declared size, before the body arrived; the body then comes, then nothing: the
    connection is closed at header_timeout, with no stray answer (it had no clock at all on httptools)."""
    config = MockConfig(port=0, header_timeout=0.4, body_timeout=0.6, max_body_bytes=1000, http=parser)
    with BackgroundServer(config) as live, _connect(live) as sock:
        sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: m.localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2000\r\n\r\n")  # fmt: skip
        [(status, body)] = _answers(sock, 1)
        assert status == 413 and body["errors"][0]["code"] == "payloadTooLarge"  # type: ignore[index]
        sock.sendall(b"x" * 2000)  # the rest of the body, which nobody reads any more
        sock.settimeout(30)  # a safety net only: the server closes long before
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
        assert rest == b""  # closed quietly: no 408 for a request that was answered


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_request_queued_behind_a_slow_one_does_not_cut_its_answer(parser: str) -> None:
    """Request A takes 0.8 s (latency); B, pipelined behind it, has sent half its body. B's body clock
    starts when A is answered, not while B waits: A's answer arrives whole."""
    config = MockConfig(port=0, header_timeout=5, body_timeout=0.4, latency_min=0.8, latency_max=0.8, http=parser)
    task = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())
    slow = json.dumps([{**task, "taskUUID": str(uuid.uuid4())}]).encode()
    with BackgroundServer(config) as live, _connect(live) as sock:
        sock.sendall(_ping_request().replace(PING, slow).replace(b"Length: 21", b"Length: %d" % len(slow))
                     + _ping_request().rpartition(b"\r\n\r\n")[0] + b"\r\n\r\n" + PING[:5])  # fmt: skip
        [(status, body)] = _answers(sock, 1)
    assert status == 200 and body["data"][0]["taskUUID"] == json.loads(slow)[0]["taskUUID"]  # type: ignore[index]


@pytest.mark.parametrize(("parser", "status"), [("httptools", 400), ("h11", 200)])
def test_an_h2c_upgrade_request_is_answered_not_dropped(parser: str, status: int) -> None:
    """curl --http2 on http:// asks to upgrade to h2c. h11 ignores the header; llhttp would stop reading
    at the end of the head (the body lost): the httptools protocol refuses it and says why."""
    with BackgroundServer(MockConfig(port=0, http=parser)) as live, _connect(live) as sock:
        sock.sendall(
            _ping_request(
                b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
            )
        )
        [(got, body)] = _answers(sock, 1)
    assert got == status
    if status == 400:
        assert body["errors"][0]["code"] == "invalidHttpRequest"  # type: ignore[index]
        assert "Upgrade to 'h2c' is not supported" in body["errors"][0]["message"]  # type: ignore[index]
    else:
        assert body == {"data": [{"taskType": "ping", "pong": True}]}


def test_a_repeated_header_counts_once_the_first_as_the_guard_reads_it(server: BackgroundServer) -> None:
    task = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())
    body = json.dumps([{**task, "taskUUID": str(uuid.uuid4())}]).encode()
    with _connect(server) as sock:
        sock.sendall(b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer good\r\n"
                     b"Authorization: Bearer invalid\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)  # fmt: skip
        [(status, answer)] = _answers(sock, 1)
    assert status == 200  # the first key; the second ("invalid") would be refused
    assert answer["data"][0]["imageURL"].startswith("http://127.0.0.1/images/")  # type: ignore[index]


@pytest.mark.parametrize(
    ("head", "why"),
    [(b"Host: 127.0.0.1\r\nHost: evil.example\r\n", "Found multiple Host: headers"),
     (b"", "Missing mandatory Host: header")],
    ids=["two-hosts", "no-host"],
)  # fmt: skip
def test_an_http_1_1_request_needs_exactly_one_host(server: BackgroundServer, head: bytes, why: str) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /v1 HTTP/1.1\r\n" + head + b"Content-Length: 2\r\n\r\n[]")
        [(status, answer)] = _answers(sock, 1)
    assert status == 400 and answer["errors"][0]["code"] == "invalidHttpRequest"  # type: ignore[index]
    assert why in answer["errors"][0]["message"]  # type: ignore[index]
