"""Shared pieces of the serving benchmarks (``bench/serve.py``, ``bench/ws.py``): servers, load, figures.

- :class:`Server`: a server in its own subprocess on 127.0.0.1 and a free port, its CPU time read
  from ``/proc/<pid>/stat`` (utime + stime).
- :func:`wrk`: Debian's ``wrk`` with ``bench/fresh_task.lua`` (the docs example with a fresh
  taskUUID per request), its ``--latency`` output parsed; wrk's own CPU time from ``getrusage``.
- :func:`drive`: the fallback and the WebSocket client, several client processes each running a
  selector loop over raw keep-alive sockets (HTTP/1.1, or WebSocket frames with a zero mask), so
  that no client library's per-request cost limits what is measured.
- ``python bench/_load.py bare --port P --http h11 --loop asyncio``: the bare Starlette route
  (reads the body, answers a fixed JSON body of the shape of the mock's sync answer) on uvicorn.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import re
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "fresh_task.lua"
DOCS_EXAMPLE_PATH = ROOT / "examples" / "docs-example.json"
DOCS_EXAMPLE: dict[str, Any] = json.loads(DOCS_EXAMPLE_PATH.read_text())
API_KEY = "bench"
CLI = Path(sys.executable).parent / "ideogram-kit"
_ITEM = {"taskType": "imageInference", "taskUUID": DOCS_EXAMPLE["taskUUID"], "imageUUID": DOCS_EXAMPLE["taskUUID"]}
BARE_ANSWER = json.dumps(
    {"data": [{**_ITEM, "imageURL": f"http://127.0.0.1/images/{_ITEM['imageUUID']}.jpg", "seed": 1}]}
).encode()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def bare_argv(port: int, http: str, loop: str) -> list[str]:
    return [sys.executable, str(Path(__file__)), "bare", "--port", str(port), "--http", http, "--loop", loop]


def mock_argv(port: int, *extra: str) -> list[str]:
    return [str(CLI), "serve", "--port", str(port), *extra]


class Server:
    """A server subprocess listening on 127.0.0.1:``port``; ``start`` returns once it answers."""

    def __init__(self, name: str, argv: Sequence[str], port: int) -> None:
        self.name, self.argv, self.port = name, list(argv), port
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def start(self, timeout: float = 30.0) -> Server:
        self.process = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:  # poll with a deadline: the process gives no readiness event to wait for
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _ = self.post("/v1", json.dumps([{**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}]))
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.output()}") from None
                time.sleep(0.02)
                continue
            if status != 200:
                raise RuntimeError(f"{self.name} answered {status} to the docs example")
            return self

    def post(self, path: str, body: str) -> tuple[int, bytes]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {
                "Host": "127.0.0.1",
                "Content-Type": "application/json",
                "Authorization": f"Bearer {API_KEY}",
            }
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def reset(self) -> None:
        """The mock's ``POST /_mock/reset``: forget every task, log entry and image."""
        status, body = self.post("/_mock/reset", "")
        if status != 200:
            raise RuntimeError(f"{self.name}: reset answered {status}: {body[:200]!r}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


def serve_bare(port: int, http: str, loop: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(BARE_ANSWER, media_type="application/json")

    app = Starlette(routes=[Route("/v1", bare, methods=["POST"])])
    stack: dict[str, Any] = {"http": http, "loop": loop}
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off", **stack)


# ---------------------------------------------------------------------------------------------
# figures


@dataclass
class Run:
    """One measured run: what the client saw, and the server's and the client's CPU time."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int = 0  # non-2xx answers (wrk's "Non-2xx or 3xx responses") or error frames
    socket_errors: str = ""
    client_cpu_s: float = float("nan")
    server_cpu_s: float = float("nan")
    client: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def server_cores(self) -> float:
        return self.server_cpu_s / self.seconds if self.seconds else float("nan")

    @property
    def client_cores(self) -> float:
        return self.client_cpu_s / self.seconds if self.seconds else float("nan")

    def line(self, name: str, unit: str = "req") -> str:
        text = (
            f"{name:<40}: {self.rps:7.0f} {unit}/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:7.2f} ms"
            f"  server CPU {self.server_ms_per_request:.3f} ms/{unit} ({self.server_cores:.2f} cores)"
            f"  client CPU {self.client_cores:.2f} cores"
        )
        if self.failed:
            text += f"  !! {self.failed} of {self.requests} NOT 200"
        if self.socket_errors:
            text += f"  !! socket errors: {self.socket_errors}"
        return text


def median_run(runs: Sequence[Run]) -> dict[str, float]:
    """The median over rounds of each figure."""
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50": statistics.median(r.p50_ms for r in runs),
        "p99": statistics.median(r.p99_ms for r in runs),
        "cpu": statistics.median(r.server_ms_per_request for r in runs),
        "client": statistics.median(r.client_cores for r in runs),
        "failed": sum(r.failed for r in runs),
    }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# wrk


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(text: str) -> Run:
    """The figures of ``wrk --latency`` output."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    if not (done and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return Run(
        requests=int(done[1]),
        seconds=_ms(done[2], done[3]) / 1000,
        p50_ms=_ms(p50[1], p50[2]),
        p99_ms=_ms(p99[1], p99[2]),
        failed=int(non2xx[1]) if non2xx else 0,
        socket_errors=errors[1].strip() if errors else "",
    )


def wrk(url: str, seconds: float, connections: int = 16, threads: int = 2) -> Run:
    """``wrk -t2 -c16 -d<seconds>s --latency`` with the fresh-taskUUID script against ``url``."""
    threads = min(threads, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    argv += ["-s", str(LUA), url, "--", str(DOCS_EXAMPLE_PATH), API_KEY]
    before = children_cpu()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    run = parse_wrk(done.stdout)
    run.client_cpu_s = children_cpu() - before
    run.client = f"wrk -t{threads} -c{connections}"
    return run


def measure(server: Server, path: str, seconds: float, connections: int = 16, *, kind: str = "http", **how: Any) -> Run:
    """One run against ``server`` (wrk for HTTP when installed, else client processes), with its CPU."""
    before = server.cpu()
    if kind == "http" and have_wrk():
        run = wrk(server.url + path, seconds, connections)
    else:  # "ws", "raw-http" (HTTP from the client processes even when wrk is installed), or no wrk
        run = drive(server.port, path, seconds, connections, kind="ws" if kind == "ws" else "http", **how)
    run.server_cpu_s = server.cpu() - before
    return run


# ---------------------------------------------------------------------------------------------
# client processes (no wrk, and WebSocket)

AUTH_TASK = json.dumps([{"taskType": "authentication", "apiKey": API_KEY}]).encode()
_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
_TASK_TEMPLATE = json.dumps([{**DOCS_EXAMPLE, "taskUUID": _PLACEHOLDER}], separators=(",", ":")).encode()
_UUID_AT = _TASK_TEMPLATE.index(_PLACEHOLDER.encode())
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def task_body() -> tuple[bytes, bytes]:
    """The docs example as a JSON array with a fresh taskUUID, and that taskUUID."""
    fresh = str(uuid.uuid4()).encode()
    return _TASK_TEMPLATE[:_UUID_AT] + fresh + _TASK_TEMPLATE[_UUID_AT + 36 :], fresh


def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A client frame, masked with the zero key (valid, and XOR with it costs nothing)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class _Conn:
    """One keep-alive connection: its socket, read buffer and requests in flight."""

    def __init__(self, port: int, path: str, kind: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.kind, self.path = kind, path
        self.buf = bytearray()
        self.sent: dict[bytes, float] = {}  # taskUUID -> send time (WS); b"" -> send time (HTTP)
        self.fragments = bytearray()
        if kind == "ws":
            self._handshake(port)

    def _handshake(self, port: int) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"WebSocket handshake refused: {head[:200]!r}")
        self.buf = bytearray(rest)
        self.sock.sendall(ws_frame(AUTH_TASK))
        while True:
            messages = self.ws_messages()
            if messages:
                if b"connectionSessionUUID" not in messages[0]:
                    raise RuntimeError(f"authentication refused: {messages[0][:200]!r}")
                return
            self._fill()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def send_task(self) -> None:
        body, fresh = task_body()
        if self.kind == "ws":
            self.sent[fresh] = time.perf_counter()
            self.sock.sendall(ws_frame(body))
        else:
            self.sent[b""] = time.perf_counter()
            self.sock.sendall(
                b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
                % (self.path.encode(), API_KEY.encode(), len(body), body)
            )

    def http_answers(self) -> list[int]:
        """Status codes of the complete answers in the buffer (removed from it)."""
        statuses: list[int] = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return statuses
            head = bytes(self.buf[:end])
            length = _CONTENT_LENGTH.search(head)
            size = end + 4 + (int(length[1]) if length else 0)
            if len(self.buf) < size:
                return statuses
            statuses.append(int(head[9:12]))
            del self.buf[:size]

    def ws_messages(self) -> list[bytes]:
        """Complete text/binary messages in the buffer (removed from it); answers pings."""
        messages = []
        buf = self.buf
        while len(buf) >= 2:
            opcode, fin, n, at = buf[0] & 0x0F, buf[0] & 0x80, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + n:
                break
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            if opcode == 0x9:
                self.sock.sendall(ws_frame(payload, 0xA))
            elif opcode == 0x8:
                raise ConnectionError(f"the server closed the WebSocket: {payload[:200]!r}")
            elif opcode in (0x0, 0x1, 0x2):
                self.fragments += payload
                if fin:
                    messages.append(bytes(self.fragments))
                    self.fragments.clear()
        return messages


def _client(
    port: int, path: str, kind: str, sockets: int, in_flight: int, seconds: float, ready: Any, go: Event, out: Any
) -> None:
    """One client process: ``sockets`` connections, ``in_flight`` tasks outstanding on each."""
    try:
        conns = [_Conn(port, path, kind) for _ in range(sockets)]
    except Exception as exc:
        ready.put(f"a client process could not connect: {exc!r}")
        return
    ready.put(None)
    go.wait()
    try:
        out.put(_run_load(conns, kind, in_flight, seconds))
    except Exception as exc:
        out.put(f"a client process failed: {exc!r}")


def _run_load(conns: list[_Conn], kind: str, in_flight: int, seconds: float) -> tuple[list[float], int]:
    selector = selectors.DefaultSelector()
    for conn in conns:  # blocking sockets: recv follows readiness, sendall of a small request never waits long
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    latencies: list[float] = []
    failed = 0
    start = time.perf_counter()
    deadline = start + seconds
    for conn in conns:
        for _ in range(in_flight):
            conn.send_task()
    while (now := time.perf_counter()) < deadline:
        for key, _ in selector.select(deadline - now):
            conn = key.data
            chunk = conn.sock.recv(262144)
            if not chunk:  # the server closed it: what was in flight there is lost
                selector.unregister(conn.sock)
                failed += len(conn.sent)
                conn.sent.clear()
                continue
            conn.buf += chunk
            now = time.perf_counter()
            if kind == "ws":
                for message in conn.ws_messages():
                    at = message.find(b'"taskUUID":"')
                    sent = conn.sent.pop(message[at + 12 : at + 48], None) if at >= 0 else None
                    if sent is None or b'"errors"' in message:
                        failed += 1
                    if sent is not None:
                        latencies.append(now - sent)
                        conn.send_task()
            else:
                for status in conn.http_answers():
                    latencies.append(now - conn.sent.pop(b""))
                    failed += not 200 <= status < 300
                    conn.send_task()
    for conn in conns:
        conn.sock.close()
    return latencies, failed


def drive(
    port: int,
    path: str,
    seconds: float,
    connections: int,
    *,
    kind: str = "http",
    processes: int = 2,
    in_flight: int = 1,
) -> Run:
    """``connections`` keep-alive connections spread over ``processes`` client processes for ``seconds``."""
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, connections))
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    before = children_cpu()
    workers = [
        context.Process(target=_client, args=(port, path, kind, share, in_flight, seconds, ready, go, out))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    try:
        problems = [ready.get(timeout=30) for _ in workers]
        go.set()
        if any(problems):
            raise RuntimeError("; ".join(p for p in problems if p))
        results = [out.get(timeout=seconds + 60) for _ in workers]
        problems = [result for result in results if isinstance(result, str)]
        if problems:
            raise RuntimeError("; ".join(problems))
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    latencies = [x for lat, _ in results for x in lat]
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    run = Run(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        failed=sum(failed for _, failed in results),
    )
    run.client_cpu_s = children_cpu() - before
    how = f"{connections} sockets" if kind == "ws" else f"{connections} connections"
    run.client = f"{processes} client processes, {how}" + (f", {in_flight} in flight each" if in_flight > 1 else "")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the bare Starlette route of the benchmarks")
    parser.add_argument("what", choices=["bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", default="httptools")
    parser.add_argument("--loop", default="uvloop")
    args = parser.parse_args()
    serve_bare(args.port, args.http, args.loop)


if __name__ == "__main__":
    main()
