"""Fuzz a live mock server: N generated bad requests, 0 answers >= 500, 0 tracebacks.

Run by hand:  .venv/bin/python bench/fuzz.py [-n 10000] [--seed 0]

Starts ``ideogram-kit serve`` on a free 127.0.0.1 port as a subprocess (its stderr goes to a
log file), sends the hand-made nasty bodies of tests/test_hardening.py and then hypothesis-
generated bodies (random bytes, random JSON, mutated valid tasks, labelled invalid tasks from
``ideogram_kit.strategies`` when present) over HTTP, and reports: requests sent, answers by
status, answers >= 500, error bodies failing the error schema, and tracebacks in the log.
Exit status 1 when any of those is not zero.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_hardening import _variants, fuzz_bodies  # noqa: E402

from ideogram_kit import schemas  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bodies(n: int, seed: int) -> list[bytes]:
    """n bodies: the hand-made ones first, then generated ones, reproducibly from seed."""
    out = list(_variants())
    rng = random.Random(seed)
    strategy: st.SearchStrategy[bytes] = fuzz_bodies
    try:
        from ideogram_kit.strategies import invalid_tasks

        labelled = invalid_tasks().map(lambda case: json.dumps([case.payload]).encode())
        strategy = st.one_of(fuzz_bodies, labelled)
    except ImportError:
        pass
    while len(out) < n:
        out.append(_draw(strategy, rng))
    return out[:n]


def _draw(strategy: st.SearchStrategy[bytes], rng: random.Random) -> bytes:
    from hypothesis.internal.conjecture.data import ConjectureData

    data = ConjectureData(random=rng, prefix=b"", max_choices=2000)
    try:
        value: bytes = data.draw(strategy)
        return value
    except Exception:  # an overrun of the choice budget: draw again
        return _draw(strategy, rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="requests to send (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    payloads = bodies(args.n, args.seed)
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    exe = Path(sys.executable).with_name("ideogram-kit")
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--seed", str(args.seed)], stdout=log, stderr=log, env=os.environ
    )
    base = f"http://127.0.0.1:{port}"
    statuses: collections.Counter[int] = collections.Counter()
    bad_bodies: list[str] = []
    server_errors: list[str] = []
    checker = schemas.validator("response")
    start = time.perf_counter()
    try:
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer fuzz"}, timeout=30) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.get("/_mock/config")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            for i, body in enumerate(payloads):
                response = client.post("/v1", content=body, headers={"Content-Type": "application/json"})
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{response.status_code} for {body[:120]!r}")
                try:
                    problems = [e.message for e in checker.iter_errors(response.json())]
                except ValueError:
                    problems = ["not JSON"]
                if problems:
                    bad_bodies.append(f"{problems[0]} for {body[:120]!r}")
                if i % 500 == 499:
                    client.post("/_mock/reset")
    finally:
        server.terminate()
        server.wait(timeout=30)
    elapsed = time.perf_counter() - start
    log.seek(0)
    tracebacks = log.read().count("Traceback")
    print(f"sent {len(payloads)} requests in {elapsed:.1f} s ({len(payloads) / elapsed:.0f}/s)")
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"answers >= 500: {len(server_errors)}; bodies failing the response schema: {len(bad_bodies)}; "
          f"tracebacks in the server log: {tracebacks}; server exit code: {server.returncode}")  # fmt: skip
    for line in (server_errors + bad_bodies)[:10]:
        print("  ", line)
    return 1 if server_errors or bad_bodies or tracebacks else 0


if __name__ == "__main__":
    raise SystemExit(main())
