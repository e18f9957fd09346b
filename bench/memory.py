"""Memory under the byte budgets: the server's resident memory while results and the request log
fill past ``max_result_bytes`` and ``request_log_bytes``.

Run by hand:  .venv/bin/python bench/memory.py [--image-requests 20] [--log-requests 1500]

Runs ``ideogram-kit serve`` twice as a subprocess on a free 127.0.0.1 port: once with the
default settings, once with small budgets from a JSON file passed with ``--config``
(``max_result_bytes`` 32 MiB, ``request_log_bytes`` 16 MiB). Each time it reads the server's
VmRSS (and VmHWM, the peak) from ``/proc/<pid>/status``:

- at the start, once the server has answered its first ``GET /_mock/config``;
- warmed up: after one request of (a) and one of (b), then ``POST /_mock/reset`` (what one big
  answer leaves in the allocator is not state: this is the baseline of the growth figures);
- after (a) ``--image-requests`` sync requests of 10 tasks × 20 images each with
  ``outputType: base64Data`` (about 23 MB of base64 per request: past the result budget);
- after (b) ``--log-requests`` requests of 64 KiB bodies (an imageInference task with ~6,500
  unknown keys: the largest body the log keeps verbatim, answered with 100 errors and
  ``tooManyErrors``), past ``request_log_size`` and ``request_log_bytes``;
- after (c) ``GET /_mock/tasks`` and ``GET /_mock/requests`` (the default page and the largest,
  ``?limit=10000``), each timed, with its size and ``X-Total-Count``;
- after ``POST /_mock/reset``.

Each line gives the RSS, its ratio to the start, and its growth over the warmed-up baseline
against the sum of the byte budgets that hold data here (``max_result_bytes`` +
``request_log_bytes`` + ``image_cache_bytes``). Exit status 1 when the growth after a phase is
over that sum. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = {"Authorization": "Bearer memory"}
MIB = 1024 * 1024
LOG_BODY_BYTES = 64 * 1024  # the largest body the request log keeps verbatim
PHASE_SECONDS = 600.0  # each phase stops after this long, done or not
SMALL_BUDGETS = {"max_result_bytes": 32 * MIB, "request_log_bytes": 16 * MIB}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of process ``pid`` in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def image_request() -> list[dict[str, Any]]:
    return [{**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "numberResults": 20, "outputType": "base64Data"}
            for _ in range(10)]  # fmt: skip


def log_body() -> bytes:
    """Exactly LOG_BODY_BYTES: the docs example (fresh taskUUID) padded with unknown keys."""
    head = json.dumps([{**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}]).encode()[:-2]
    count = (LOG_BODY_BYTES - len(head) - 2) // 10
    body = head + b"".join(b',"%05x":0' % i for i in range(count))
    return body + b" " * (LOG_BODY_BYTES - len(body) - 2) + b"}]"


class Run:
    """One server and its figures."""

    def __init__(self, label: str, settings: dict[str, Any], server: subprocess.Popen[bytes], base: str) -> None:
        self.label = label
        self.settings = settings
        self.server = server
        self.base = base
        self.start_rss = self.warm_rss = 0
        self.over: list[str] = []

    @property
    def budget(self) -> int:
        s = self.settings
        return int(s["max_result_bytes"] + s["request_log_bytes"] + s["image_cache_bytes"])

    def report(self, phase: str) -> None:
        rss, peak = memory(self.server.pid)
        if not self.start_rss:
            self.start_rss = rss
            print(f"  start (after the first answer to GET /_mock/config): RSS {rss / MIB:.1f} MiB")
            return
        if not self.warm_rss:
            self.warm_rss = rss
            print(f"  warmed up (one request of (a), one of (b), then POST /_mock/reset): RSS {rss / MIB:.1f} MiB "
                  f"= {rss / self.start_rss:.2f}x the start; the baseline of the growth below")  # fmt: skip
            return
        growth = rss - self.warm_rss
        verdict = "within" if growth <= self.budget else "OVER"
        print(f"  after {phase}: RSS {rss / MIB:.1f} MiB = {rss / self.start_rss:.2f}x the start; "
              f"+{growth / MIB:.1f} MiB over the warmed-up baseline = {growth / self.budget:.0%} of the "
              f"{self.budget / MIB:.0f} MiB of budgets ({verdict}); peak so far {peak / MIB:.1f} MiB")  # fmt: skip
        if growth > self.budget:
            self.over.append(f"{self.label}, after {phase}: +{growth / MIB:.1f} MiB over the warmed-up baseline")


def drive(run: Run, image_requests: int, log_requests: int) -> None:
    with httpx.Client(base_url=run.base, headers=AUTH, timeout=300) as client:
        run.report("start")
        client.post("/v1", json=image_request())
        client.post("/v1", content=log_body(), headers={"Content-Type": "application/json"})
        client.post("/_mock/reset", json={})
        run.report("warm-up")

        deadline = time.monotonic() + PHASE_SECONDS
        received = sent = 0
        start = time.perf_counter()
        statuses: dict[int, int] = {}
        for _ in range(image_requests):
            if time.monotonic() > deadline:
                break
            response = client.post("/v1", json=image_request())
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            received += sum(len(item.get("imageBase64Data", "")) for item in response.json().get("data", []))
            sent += 1
        tasks = int(client.get("/_mock/tasks", params={"limit": 1}).headers["X-Total-Count"])
        ratio = received / run.settings["max_result_bytes"]
        print(f"  (a) {sent} requests × 10 tasks × 20 images, base64Data, in {time.perf_counter() - start:.1f} s: "
              f"statuses {statuses}, {received / MIB:.1f} MiB of base64 received ({ratio:.1f}x max_result_bytes); "
              f"{tasks} tasks remembered")  # fmt: skip
        run.report("(a) base64 results")

        deadline = time.monotonic() + PHASE_SECONDS
        sent = 0
        statuses = {}
        start = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        for _ in range(log_requests):
            if time.monotonic() > deadline:
                break
            response = client.post("/v1", content=log_body(), headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            sent += 1
        kept = int(client.get("/_mock/requests", params={"limit": 1}).headers["X-Total-Count"])
        print(f"  (b) {sent} requests of {LOG_BODY_BYTES:,} B (unknown keys) in {time.perf_counter() - start:.1f} s: "
              f"statuses {statuses}; {sent * LOG_BODY_BYTES / MIB:.1f} MiB of bodies sent "
              f"({sent * LOG_BODY_BYTES / run.settings['request_log_bytes']:.1f}x request_log_bytes); "
              f"{kept} requests kept in the log")  # fmt: skip
        run.report("(b) request log")

        for path in ("/_mock/tasks", "/_mock/requests"):
            for params in ({}, {"limit": 10_000}):
                start = time.perf_counter()
                response = client.get(path, params=params)
                took = time.perf_counter() - start
                shown = f"{path}?limit=10000" if params else path
                print(f"  (c) GET {shown}: {response.status_code}, {len(response.content) / MIB:.2f} MiB, "
                      f"{len(response.json())} items of X-Total-Count {response.headers.get('X-Total-Count')}, "
                      f"in {took * 1000:.0f} ms")  # fmt: skip
        run.report("(c) inspection")

        client.post("/_mock/reset", json={})
        run.report("POST /_mock/reset")


def measure(label: str, settings: dict[str, Any], args: argparse.Namespace) -> list[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("ideogram-kit")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(settings))
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [str(exe), "serve", "--config", str(config), "--port", str(port), "--seed", str(args.seed)],
                stdout=log, stderr=log, env=os.environ,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    answer = httpx.get(f"{base}/_mock/config")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            run = Run(label, answer.json(), server, base)
            budgets = ", ".join(f"{name} {run.settings[name] / MIB:g} MiB"
                                for name in ("max_result_bytes", "request_log_bytes", "image_cache_bytes"))  # fmt: skip
            print(f"{label}: {budgets}; request_log_size {run.settings['request_log_size']}")
            drive(run, args.image_requests, args.log_requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
        tracebacks = log_path.read_text().count("Traceback")
    print(f"  tracebacks in the server log: {tracebacks}; server exit code: {server.returncode}")
    problems = list(run.over)
    if tracebacks or server.returncode:
        problems.append(f"{label}: {tracebacks} tracebacks, exit code {server.returncode}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-requests", type=int, default=20, help="requests of 200 base64 images (default 20)")
    parser.add_argument("--log-requests", type=int, default=1500, help="requests of 64 KiB bodies (default 1500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problems = measure("defaults", {}, args)
    problems += measure(f"small budgets ({json.dumps(SMALL_BUDGETS)} in a --config file)", SMALL_BUDGETS, args)
    for line in problems:
        print("  ", line)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
