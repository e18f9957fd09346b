"""The soak run shared by ``bench/soak.py`` (full size, by hand) and ``tests/test_soak.py`` (small, CI).

A real ``ideogram-kit serve`` subprocess on a free 127.0.0.1 port (so its resident memory can be
read from /proc), a webhook receiver on 127.0.0.1 that fails a seeded share of attempts, and
concurrent clients sending async tasks with webhooks. The report says whether every image was
delivered exactly once by delivery id, whether every task polls to the right final state, and
the server's resident memory at the start, at its peak and after retention expired.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "docs-example.json").read_text())


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")  # pragma: no cover


@dataclass
class SoakReport:
    tasks: int
    images_expected: int
    delivered: collections.Counter[str] = field(default_factory=collections.Counter)
    attempts: int = 0
    refused: int = 0
    images_by_task: dict[str, set[str]] = field(default_factory=dict)
    poll_mismatches: list[str] = field(default_factory=list)
    forgotten_after_retention: int = 0
    rss_start: int = 0
    rss_peak: int = 0
    rss_rounds: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rss_end(self) -> int:
        return self.rss_rounds[-1]

    @property
    def lost(self) -> int:
        return self.images_expected - len(self.delivered)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.delivered.values() if n > 1)

    def summary(self) -> str:
        mib = 1024 * 1024
        return (
            f"{self.tasks} tasks, {self.images_expected} images, {self.attempts} webhook attempts "
            f"({self.refused} answered 500 on purpose) in {self.elapsed:.1f} s\n"
            f"delivered once: {len(self.delivered)}, lost: {self.lost}, duplicated: {self.duplicated}; "
            f"tasks polling to a wrong state: {len(self.poll_mismatches)}; "
            f"forgotten after retention: {self.forgotten_after_retention}/{self.tasks}\n"
            f"server RSS: start {self.rss_start / mib:.1f} MiB, peak {self.rss_peak / mib:.1f} MiB, "
            f"after retention {self.rss_end / mib:.1f} MiB ({self.rss_end / self.rss_start:.2f}x start)"
            + (
                "; after each round: " + ", ".join(f"{r / mib:.1f}" for r in self.rss_rounds) + " MiB"
                if len(self.rss_rounds) > 1
                else ""
            )
        )


def receiver_app(report: SoakReport, fail_rate: float, seed: int) -> Starlette:
    rng = random.Random(seed)

    async def hook(request: Request) -> Response:
        body = await request.body()
        report.attempts += 1
        if rng.random() < fail_rate:
            report.refused += 1
            return Response(status_code=500)
        assert request.query_params.get("token") == "soak", "the webhook URL's query string was not kept"
        delivery_id = request.headers["x-delivery-id"]
        report.delivered[delivery_id] += 1
        item = json.loads(body)  # the flat result object (webhook_body "flat", the default)
        report.images_by_task.setdefault(item["taskUUID"], set()).add(item["imageUUID"])
        return Response(status_code=204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def _wait_ready(client: httpx.AsyncClient, deadline: float) -> None:
    while True:
        try:
            await client.get("/_mock/config")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def soak(
    *,
    tasks: int,
    clients: int,
    fail_rate: float = 0.3,
    retention: float = 3.0,
    seed: int = 0,
    rounds: int = 1,
    timeout: float = 120,
) -> SoakReport:
    """``rounds`` times: ``tasks`` async webhook tasks from ``clients`` clients, polled, then forgotten."""
    rng = random.Random(seed)
    report = SoakReport(tasks=0, images_expected=0)

    hook_sock = free_socket()
    hook_port = hook_sock.getsockname()[1]
    hook_server = uvicorn.Server(
        uvicorn.Config(receiver_app(report, fail_rate, seed), log_level="warning", lifespan="off")
    )
    hook_task = asyncio.create_task(hook_server.serve(sockets=[hook_sock]))
    hook = f"http://127.0.0.1:{hook_port}/hook?token=soak"

    config = {
        "seed": seed,
        "retention": retention,
        "image_ttl": retention,
        "delivery_attempts": 15,  # 0.3 ** 15: a loss would be a bug, not bad luck
        "delivery_base_delay": 0.01,
        # long enough that a receiver slowed by this busy process is not timed out: a timed-out
        # attempt that the receiver did take is a legitimate at-least-once repeat, not a mock bug
        "delivery_timeout": 30.0,
        "max_tasks": tasks * 2,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(config, file)
    mock_sock = free_socket()
    port = mock_sock.getsockname()[1]
    mock_sock.close()
    exe = Path(sys.executable).with_name("ideogram-kit")
    log = tempfile.TemporaryFile()  # noqa: SIM115 - not a pipe: nobody reads it while the server runs
    server = subprocess.Popen([str(exe), "serve", "--port", str(port), "--config", file.name], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer soak"}
    start = time.perf_counter()
    deadline = time.monotonic() + timeout * rounds
    try:
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60) as http:
            await _wait_ready(http, deadline)
            # warm every path the load takes (async + webhook with retries, getResponse), so that
            # one-time costs such as the outbound client's TLS context count as the start, not growth
            warm_uuids = [str(uuid.uuid4()) for _ in range(20)]
            for warm_uuid in warm_uuids:
                warm = {**DOCS_EXAMPLE, "taskUUID": warm_uuid, "deliveryMethod": "async", "webhookURL": hook}
                (await http.post("/v1", json=[warm])).raise_for_status()
            while len(report.delivered) < len(warm_uuids) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for warm_uuid in warm_uuids:
                await http.post("/v1", json=[{"taskType": "getResponse", "taskUUID": warm_uuid}])
        report.delivered.clear()
        report.images_by_task.clear()
        report.attempts = report.refused = 0
        report.rss_start = rss_bytes(server.pid)
        for _ in range(rounds):
            await _round(report, server.pid, base, auth, hook, tasks, clients, retention, rng, deadline)
        report.elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        stderr = log.read()
        log.close()
        hook_server.should_exit = True
        await hook_task
        os.unlink(file.name)
    if b"Traceback" in stderr:
        raise AssertionError("the mock logged a traceback:\n" + stderr.decode(errors="replace"))
    return report


async def _round(
    report: SoakReport,
    pid: int,
    base: str,
    auth: dict[str, str],
    hook: str,
    tasks: int,
    clients: int,
    retention: float,
    rng: random.Random,
    deadline: float,
) -> None:
    counts = [rng.randint(1, 3) for _ in range(tasks)]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(tasks)]
    report.tasks += tasks
    report.images_expected += sum(counts)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=auth, limits=limits, timeout=60) as http:

        async def client_loop(mine: list[int]) -> None:
            for i in mine:
                task = {**DOCS_EXAMPLE, "taskUUID": uuids[i], "numberResults": counts[i]}
                task.update(deliveryMethod="async", webhookURL=hook)
                response = await http.post("/v1", json=[task])
                assert response.status_code == 200, response.text

        await asyncio.gather(*(client_loop(list(range(c, tasks, clients))) for c in range(clients)))
        while len(report.delivered) < report.images_expected and time.monotonic() < deadline:
            report.rss_peak = max(report.rss_peak, rss_bytes(pid))
            await asyncio.sleep(0.05)
        report.rss_peak = max(report.rss_peak, rss_bytes(pid))
        await asyncio.sleep(0.5)  # a duplicate would arrive now, if the mock sent any

        async def poll(i: int) -> None:
            answer = (await http.post("/v1", json=[{"taskType": "getResponse", "taskUUID": uuids[i]}])).json()
            items = answer.get("data", [])
            states = {item.get("status") for item in items}
            images = {item["imageUUID"] for item in items if "imageUUID" in item}
            if answer.get("errors") or states != {"success"} or len(items) != counts[i]:
                report.poll_mismatches.append(f"{uuids[i]}: {answer}")
            elif images != report.images_by_task.get(uuids[i], set()):
                report.poll_mismatches.append(f"{uuids[i]}: polled {images}, webhooks brought others")

        await asyncio.gather(*(poll(i) for i in range(tasks)))

    # the round's load is over and its connections closed; retention passes, then one client
    # checks that every task was forgotten (its requests also make the engine prune)
    await asyncio.sleep(retention + 1.2)
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60) as http:
        answers = [await http.post("/v1", json=[{"taskType": "getResponse", "taskUUID": u}]) for u in uuids]
    report.forgotten_after_retention += sum(
        1 for a in answers if a.json().get("errors", [{}])[0].get("code") == "taskNotFound"
    )
    await asyncio.sleep(0.2)
    report.rss_rounds.append(rss_bytes(pid))
