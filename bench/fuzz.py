"""Fuzz a live mock server: N generated bad requests over HTTP and N over WebSocket, 0 answers
>= 500, 0 tracebacks.

Run by hand:  .venv/bin/python bench/fuzz.py [-n 10000] [--seed 0] [--transport both|http|ws]

Starts ``ideogram-kit serve`` on a free 127.0.0.1 port as a subprocess (its stderr goes to a
log file), sends the hand-made nasty bodies of tests/test_hardening.py and then hypothesis-
generated bodies (random bytes, random JSON, mutated valid tasks, labelled invalid tasks from
``ideogram_kit.strategies`` when present) as ``POST /v1`` requests, then the same bodies as
frames on one authenticated WebSocket (every fifth one binary, the rest text when UTF-8, each
followed by a ping; every tenth HTTP request declares an odd Content-Type or none), and
reports per transport: messages sent, answers by status (HTTP) or server frames by kind (WS),
answers >= 500 (a 5xx-class error code in a frame), bodies failing the response schema, and at
the end the tracebacks in the server log. Exit status 1 when any of those is not zero, or when
the WebSocket closes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_hardening import _variants, fuzz_bodies, ws_connect, ws_exchange, ws_problems  # noqa: E402

from ideogram_kit import schemas  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bodies(n: int, seed: int) -> list[bytes]:
    """n bodies: the hand-made ones first, then generated ones, reproducibly from seed.

    Generated through ``@given`` (hypothesis's own engine, generation phase only), so the big
    branches (mutated valid tasks, labelled invalid tasks) come out as often as the small ones.
    """
    out = list(_variants())
    strategy: st.SearchStrategy[bytes] = fuzz_bodies
    try:
        from ideogram_kit.strategies import invalid_tasks

        labelled = invalid_tasks().map(lambda case: json.dumps([case.payload]).encode())
        strategy = st.one_of(fuzz_bodies, labelled)
    except ImportError:
        pass
    while len(out) < n:
        before = len(out)
        out += _generate(strategy, n - len(out), seed)
        seed += 1
        if len(out) == before:  # pragma: no cover - an exhausted strategy
            break
    return out[:n]


def _generate(strategy: st.SearchStrategy[bytes], count: int, seed: int) -> list[bytes]:
    found: list[bytes] = []

    @hypothesis.seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found


#: Every tenth request declares one of these instead of application/json (None: no header at all).
ODD_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/json; charset=utf-8", "application/problem+json", "*/*", "garbage", "",
                     None)  # fmt: skip


def fuzz_http(base: str, payloads: list[bytes]) -> list[str]:
    """POST each body; prints the figures, returns the failures."""
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []
    checker = schemas.validator("response")
    start = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer fuzz"}, timeout=30) as client:
        for i, body in enumerate(payloads):
            content_type = ODD_CONTENT_TYPES[i // 10 % len(ODD_CONTENT_TYPES)] if i % 10 == 9 else "application/json"
            headers = {} if content_type is None else {"Content-Type": content_type}
            response = client.post("/v1", content=body, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"HTTP {response.status_code} for {body[:120]!r}")
            try:
                problems = [e.message for e in checker.iter_errors(response.json())]
            except ValueError:
                problems = ["not JSON"]
            if problems:
                failures.append(f"HTTP body: {problems[0]} for {body[:120]!r}")
            if i % 500 == 499:
                client.post("/_mock/reset", json={})
    elapsed = time.perf_counter() - start
    print(f"HTTP: sent {len(payloads)} requests in {elapsed:.1f} s ({len(payloads) / elapsed:.0f}/s)")
    print(f"HTTP: statuses {dict(sorted(statuses.items()))}")
    print(f"HTTP: answers >= 500 or failing the response schema: {len(failures)}")
    return failures


def fuzz_ws(base: str, payloads: list[bytes]) -> list[str]:
    """Send each body as a frame on one socket; prints the figures, returns the failures."""
    kinds: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    frames = 0
    start = time.perf_counter()
    try:
        with ws_connect(base) as ws:
            for i, body in enumerate(payloads):
                for reply in ws_exchange(ws, body, binary=i % 5 == 4):
                    frames += 1
                    kinds[reply["errors"][0].get("code", "?") if "errors" in reply else "data"] += 1
                    failures += [f"WS frame: {problem} for {body[:120]!r}" for problem in ws_problems(reply)]
                if i % 500 == 499:
                    httpx.post(f"{base}/_mock/reset", json={})
            ws_exchange(ws, b"[]")  # still open and answering
    except Exception as exc:  # the socket closed or timed out: that is a failure, not a crash of the bench
        failures.append(f"WS: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - start
    print(f"WS: sent {len(payloads)} frames (+ a ping each) in {elapsed:.1f} s ({len(payloads) / elapsed:.0f}/s); "
          f"{frames} server frames besides the pongs")  # fmt: skip
    print(f"WS: frames by first error code {dict(kinds.most_common())}")
    print(f"WS: frames invalid or with a 5xx-class code, or a closed socket: {len(failures)}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="requests (and frames) to send (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--transport", choices=["both", "http", "ws"], default="both")
    args = parser.parse_args()

    payloads = bodies(args.n, args.seed)
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    exe = Path(sys.executable).with_name("ideogram-kit")
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--seed", str(args.seed)], stdout=log, stderr=log, env=os.environ
    )
    base = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_mock/config")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        if args.transport in ("both", "http"):
            failures += fuzz_http(base, payloads)
        if args.transport in ("both", "ws"):
            httpx.post(f"{base}/_mock/reset", json={})  # the same bodies again: no conflicts with the HTTP run's tasks
            failures += fuzz_ws(base, payloads)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    tracebacks = log.read().count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}; server exit code: {server.returncode}")
    for line in failures[:10]:
        print("  ", line)
    return 1 if failures or tracebacks or server.returncode else 0


if __name__ == "__main__":
    raise SystemExit(main())
