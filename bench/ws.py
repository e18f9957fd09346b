"""Benchmark: sync tasks over the mock's WebSocket transport against its REST path, same server.

Run by hand:  .venv/bin/python bench/ws.py [--seconds 5] [--sockets 16]

One uvicorn process (a subprocess, so the clients do not share its GIL) serves the mock. Each
task is the docs example with a fresh taskUUID (sync, URL output); a task is done when its
result has arrived. Measured in turn, each for ``--seconds``:

- REST, one client posting one task at a time, and ``--sockets`` clients at once (httpx,
  keep-alive connections);
- WebSocket, one socket with one task in flight, ``--sockets`` sockets with one task in flight
  each, and one socket with ``--sockets`` tasks in flight (pipelined).

Prints tasks/s, p50 and p99 of each, the server's CPU time per task (from /proc, Linux; this
part does not depend on how fast the client libraries are), and the WS/REST ratios for the same
concurrency (the WS path should not be slower per task: throughput ratio >= 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = json.dumps([{"taskType": "authentication", "apiKey": "bench"}])


def serve(port: int) -> None:
    import uvicorn

    from ideogram_mock import MockConfig, create_app

    app = create_app(MockConfig(max_tasks=2000, request_log_size=200))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off")


def task() -> dict[str, object]:
    return {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"tps": len(latencies) / elapsed, "p50": cuts[49] * 1000, "p99": cuts[98] * 1000, "elapsed": elapsed}


async def rest(base: str, seconds: float, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": "Bearer bench"}, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.post(f"{base}/v1", json=[task()])
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return summary(latencies, time.perf_counter() - started)


async def authenticated(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None)
    await ws.send(AUTH)
    assert "connectionSessionUUID" in await ws.recv()
    return ws


async def ws_sockets(url: str, seconds: float, sockets: int) -> dict[str, float]:
    """``sockets`` sockets, one task in flight on each."""
    latencies: list[float] = []
    conns = [await authenticated(url) for _ in range(sockets)]
    deadline = time.perf_counter() + seconds

    async def worker(ws: ClientConnection) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await ws.send(json.dumps([task()]))
            frame = json.loads(await ws.recv())
            latencies.append(time.perf_counter() - start)
            assert "data" in frame, frame

    started = time.perf_counter()
    await asyncio.gather(*(worker(ws) for ws in conns))
    elapsed = time.perf_counter() - started
    for ws in conns:
        await ws.close()
    return summary(latencies, elapsed)


async def ws_pipelined(url: str, seconds: float, in_flight: int) -> dict[str, float]:
    """One socket, ``in_flight`` tasks outstanding at any time."""
    ws = await authenticated(url)
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    window = asyncio.Semaphore(in_flight)
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        while time.perf_counter() < deadline:
            await window.acquire()
            one = task()
            sent_at[str(one["taskUUID"])] = time.perf_counter()
            await ws.send(json.dumps([one]))

    async def receiver() -> None:
        while sent_at or time.perf_counter() < deadline:
            frame = json.loads(await ws.recv())
            latencies.append(time.perf_counter() - sent_at.pop(frame["data"][0]["taskUUID"]))
            window.release()

    started = time.perf_counter()
    await asyncio.gather(sender(), receiver())
    elapsed = time.perf_counter() - started
    await ws.close()
    return summary(latencies, elapsed)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, phase: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    before = cpu_seconds(pid)
    figures = asyncio.run(phase)
    figures["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / (figures["tps"] * figures["elapsed"])
    return figures


def line(name: str, figures: dict[str, float]) -> str:
    return (
        f"{name:<28}: {figures['tps']:7.0f} tasks/s  p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms"
        f"  server CPU {figures['cpu_ms']:.2f} ms/task"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    base, url, n = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v1", args.sockets
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/openapi.json")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        asyncio.run(rest(base, 1.0, n))  # warm-up
        asyncio.run(ws_sockets(url, 1.0, n))
        pid = server.pid
        rest_1 = measured(pid, rest(base, args.seconds, 1))
        ws_1 = measured(pid, ws_sockets(url, args.seconds, 1))
        rest_n = measured(pid, rest(base, args.seconds, n))
        ws_n = measured(pid, ws_sockets(url, args.seconds, n))
        ws_pipe = measured(pid, ws_pipelined(url, args.seconds, n))
    finally:
        server.terminate()
        server.wait(10)
    print(line("REST, 1 client", rest_1))
    print(line("WS, 1 socket", ws_1))
    print(line(f"REST, {n} clients", rest_n))
    print(line(f"WS, {n} sockets", ws_n))
    print(line(f"WS, 1 socket, {n} in flight", ws_pipe))
    print(f"ratio WS/REST, 1 at a time : {ws_1['tps'] / rest_1['tps']:.2f}x (target >= 1.0x)")
    print(f"ratio WS/REST, {n} at once  : {ws_n['tps'] / rest_n['tps']:.2f}x (target >= 1.0x)")
    print(f"ratio WS 1 socket pipelined / REST {n} clients: {ws_pipe['tps'] / rest_n['tps']:.2f}x")
    print(f"server CPU per task, REST/WS at {n} at once: {rest_n['cpu_ms'] / ws_n['cpu_ms']:.2f}x (WS cheaper if > 1)")


if __name__ == "__main__":
    main()
