"""Fuzz a live mock server: hostile and generated bad requests over HTTP and WebSocket, 0
answers >= 500, 0 tracebacks, and a concurrent ping that stays fast.

Run by hand:  .venv/bin/python bench/fuzz.py [-n 10000] [--seed 0] [--transport both|http|ws]

Starts ``ideogram-kit serve`` on a free 127.0.0.1 port as a subprocess (its stderr goes to a
log file) and a pinger, a separate process that POSTs ``[{"taskType":"ping"}]`` to ``/v1``
every 10 ms, open loop (a new ping every 10 ms whether or not the last one was answered, so a
stalled server shows as many slow pings, not one), recording each latency. Then, per transport:

- the hostile cases (:func:`hostile_cases`): a lone surrogate in every place the mock echoes,
  integer-valued floats (which must be served), escaped-quote bodies from 64 KiB up to
  ``max_body_bytes`` that end nested past the depth limit, bodies full of unknown keys (64 KiB,
  1 MiB), a base64 reference image filling ``max_body_bytes``, and one byte over the limit;
  each with the status it must get (an error frame, or data, over WebSocket);
- then the hand-made nasty bodies of tests/test_hardening.py and hypothesis-generated ones
  (random bytes, random JSON, mutated valid tasks, labelled invalid tasks from
  ``ideogram_kit.strategies`` when present), ``-n`` in all: as ``POST /v1`` requests (every
  tenth declares an odd Content-Type or none), then as frames on one authenticated WebSocket
  (every fifth binary, the rest text when UTF-8, each followed by a ping frame).

Reports per transport: each hostile case with its answer and time, messages sent, answers by
status (HTTP) or server frames by kind (WS), answers >= 500 (a 5xx-class code in a frame),
bodies failing the response schema; the ping's p50/p99/max per phase (idle baseline first,
then HTTP and WS, each split into hostile and generated), and at the end the tracebacks in the
server log. Exit status 1 when any of those counts is not zero, a hostile case gets the wrong
answer, the WebSocket closes, a ping fails, or a phase's ping p99 is 100 ms or more (then the
cases the slow pings overlapped are printed, and the one responsible when leaving out the pings
during one case brings the p99 under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import collections
import copy
import json
import math
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_hardening import _variants, fuzz_bodies, ws_connect, ws_exchange, ws_problems  # noqa: E402

from ideogram_kit import schemas  # noqa: E402
from ideogram_mock import MockConfig  # noqa: E402

DOCS_EXAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "docs-example.json").read_text())
AUTH = {"Authorization": "Bearer fuzz"}
PING_BODY = b'[{"taskType":"ping"}]'
PING_PERIOD = 0.010  # seconds between two pings
P99_TARGET = 0.100  # seconds: a phase's ping p99 must stay under it
SURROGATE = "\ud800"
QUIET = 0.020  # seconds: a hostile case holding no ping this long is summed up on one line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the hostile cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A hostile body, built when sent (the big ones are MiBs), and the HTTP status it must get."""

    name: str
    make: Callable[[], bytes]
    status: int  # 200: served (over WS: data, no error); 4xx: refused (over WS: an error frame)


def hostile_cases(seed: int, max_body: int) -> list[Case]:
    rng = random.Random(seed)

    def task(**changes: Any) -> dict[str, Any]:
        # a fresh taskUUID each time a body is built: the same case over HTTP then WS is no conflict
        return {**copy.deepcopy(DOCS_EXAMPLE), "taskUUID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                **changes}  # fmt: skip

    def encoded(request: list[dict[str, Any]]) -> bytes:
        return json.dumps(request).encode()  # a lone surrogate as the escape \ud800: valid JSON text

    def escaped_quotes(size: int) -> bytes:
        # one string of \" pairs, then 70 opening brackets: past max_json_depth after the whole string
        body = b'["' + b'\\"' * ((size - 73) // 2) + b'"' + b"[" * 70
        return body + b" " * (size - len(body))  # exactly size bytes

    def unknown_keys(size: int, base: Callable[[], dict[str, Any]]) -> bytes:
        head = encoded([base()])[:-2]  # the task object without its closing brace and bracket
        count = (size - len(head) - 2) // 10  # each key: ,"xxxxx":0 (10 bytes)
        return head + b"".join(b',"%05x":0' % i for i in range(count)) + b"}]"

    def reference(size: int, prefix: str) -> bytes:
        frame = encoded([task(inputs={"referenceImages": ["<image>"]})])
        chars = (size - len(frame) + len("<image>") - len(prefix)) // 4 * 4
        data = base64.b64encode(rng.randbytes(chars // 4 * 3))
        return frame.replace(b"<image>", prefix.encode() + data, 1)

    surrogates: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "taskUUID": lambda: [task(taskUUID=SURROGATE)],
        "taskType": lambda: [task(taskType=SURROGATE)],
        "model": lambda: [task(model=SURROGATE)],
        "an unknown key": lambda: [{**task(), SURROGATE: 1}],
        "an unknown key's value": lambda: [task(x=SURROGATE)],
        "a reference image": lambda: [task(inputs={"referenceImages": [SURROGATE]})],
        "outputFormat": lambda: [task(outputFormat=SURROGATE)],
        "getResponse taskUUID": lambda: [{"taskType": "getResponse", "taskUUID": SURROGATE}],
        "getTaskDetails taskUUID": lambda: [{"taskType": "getTaskDetails", "taskUUID": SURROGATE}],
        "a webhookURL path": lambda: [task(webhookURL="http://127.0.0.1:9/hook/" + SURROGATE)],
        "an uploadEndpoint path": lambda: [task(uploadEndpoint="http://127.0.0.1:9/" + SURROGATE)],
    }
    integral_floats: dict[str, dict[str, Any]] = {
        "numberResults: 2.0": {"numberResults": 2.0},
        "width: 1024.0": {"width": 1024.0},
        "outputQuality: 95.0": {"outputQuality": 95.0},
        "all three integral floats": {"numberResults": 2.0, "width": 1024.0, "outputQuality": 95.0},
    }
    mib = 1024 * 1024
    cases = [
        Case(f"surrogate in {where}", lambda make=make: encoded(make()), 400) for where, make in surrogates.items()
    ]
    cases += [Case(name, lambda c=changes: encoded([task(**c)]), 200) for name, changes in integral_floats.items()]
    for size in (64 * 1024, 1 * mib, 4 * mib, 10 * mib, max_body):
        cases.append(Case(f"escaped quotes, {_size(size)}", lambda size=size: escaped_quotes(size), 400))
    for size in (64 * 1024, 1 * mib):
        count = (size - len(encoded([task()])[:-2]) - 2) // 10
        cases.append(Case(f"{count:,} unknown keys in a task, {_size(size)}",
                          lambda size=size: unknown_keys(size, task), 400))  # fmt: skip
    cases.append(Case(f"~100k unknown keys in a ping, {_size(mib)}",
                      lambda: unknown_keys(mib, lambda: {"taskType": "ping"}), 200))  # fmt: skip
    cases.append(Case(f"base64 data-URI reference image, {_size(max_body)}",
                      lambda: reference(max_body, "data:image/png;base64,"), 200))  # fmt: skip
    cases.append(Case(f"raw base64 reference image, {_size(max_body)}", lambda: reference(max_body, ""), 200))
    cases.append(Case("escaped quotes, max_body_bytes + 1",
                      lambda: escaped_quotes(max_body + 1), 413))  # fmt: skip
    return cases


def _size(size: int) -> str:
    return f"{size // 1024} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:g} MiB"


# -- the generated bodies -----------------------------------------------------------------------------


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


# -- the pinger (a process of its own: the fuzzing client's work never delays it) --------------------


def _pinger(base: str, stop: Event, out: Connection, max_seconds: float) -> None:
    """POST a ping every PING_PERIOD until ``stop`` (or ``max_seconds``); send back
    ``[(sent, latency, status), ...]`` (monotonic seconds, status 0 for a transport error)."""
    samples: list[tuple[float, float, int]] = []

    async def one(client: httpx.AsyncClient) -> None:
        sent = time.monotonic()
        try:
            response = await client.post("/v1", content=PING_BODY)
            ok = response.status_code == 200 and response.json() == {"data": [{"taskType": "ping", "pong": True}]}
            status = response.status_code if ok else -response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append((sent, time.monotonic() - sent, status))

    async def run() -> None:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=16)
        headers = {**AUTH, "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
            pending: set[asyncio.Task[None]] = set()
            deadline = time.monotonic() + max_seconds
            await one(client)
            out.send("ready")
            samples.clear()
            tick = time.monotonic()
            while not stop.is_set() and time.monotonic() < deadline:
                if len(pending) < 400:  # open loop, bounded: at most 4 s of pings in flight
                    job = asyncio.ensure_future(one(client))
                    pending.add(job)
                    job.add_done_callback(pending.discard)
                tick = max(tick + PING_PERIOD, time.monotonic() - PING_PERIOD)
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
            if pending:
                await asyncio.wait(pending, timeout=60)

    asyncio.run(run())
    out.send(samples)
    out.close()


@dataclass
class Timeline:
    """What the fuzzer sent when: ``(start, end, phase, group, case)`` in monotonic seconds."""

    spans: list[tuple[float, float, str, str, str]]
    phases: list[tuple[float, float, str]]

    def record(self, start: float, phase: str, group: str, case: str) -> float:
        """Note a message sent at ``start`` and answered now; returns the seconds it took."""
        end = time.monotonic()
        self.spans.append((start, end, phase, group, case))
        return end - start


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1]) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _stats(pings: list[tuple[float, float, int]]) -> str:
    if not pings:
        return "no pings"
    ms = [latency * 1000 for _, latency, _ in pings]
    failed = sum(1 for *_, status in pings if status != 200)
    return (f"{len(pings):,} pings, p50 {quantile(ms, 0.5):.1f} ms, p99 {quantile(ms, 0.99):.1f} ms, "
            f"max {max(ms):.1f} ms, failed {failed}")  # fmt: skip


def report_pings(samples: list[tuple[float, float, int]], timeline: Timeline) -> list[str]:
    """Print the ping figures per phase, group and hostile case; returns the failures (a phase's
    p99 at or over the target, failed pings)."""
    failures: list[str] = []
    for start, end, phase in timeline.phases:
        pings = _sent_between(sorted(samples), start, end)
        print(f"ping during {phase}: {_stats(pings)}")
        spans = [s for s in timeline.spans if s[2] == phase]
        windows = _windows(spans, end)
        for group in dict.fromkeys(s[3] for s in spans):
            mine = [w for w in windows if w[3] == group]  # a group's messages are sent one after another
            print(f"  {group}: {_stats(_sent_between(pings, mine[0][0], mine[-1][1]))}")
        quiet = []
        for window_start, window_end, case, group in windows:
            within = _sent_between(pings, window_start, window_end)
            if group != "hostile cases" or not within:
                continue
            if max(p[1] for p in within) >= QUIET:
                print(f"    {case}: {_stats(within)}")
            else:
                quiet.append(max(p[1] for p in within))
        if quiet:
            print(f"    the other {len(quiet)} hostile cases: every ping under {max(quiet) * 1000:.1f} ms")
        failed = [p for p in pings if p[2] != 200]
        if failed:
            failures.append(f"{len(failed)} pings failed during {phase} (status 0: no answer, negative: wrong answer): "
                            f"{collections.Counter(p[2] for p in failed).most_common(3)}")  # fmt: skip
        if phase == "idle" or not pings or (p99 := quantile([p[1] for p in pings], 0.99)) < P99_TARGET:
            continue
        failures.append(f"ping p99 {p99 * 1000:.1f} ms during {phase} (target < {P99_TARGET * 1000:.0f} ms)")
        offending = []
        for window_start, window_end, case, _ in windows:
            within = [p[1] for p in _sent_between(pings, window_start, window_end)]
            if within and quantile(within, 0.99) >= P99_TARGET:
                offending.append(f"{case} (p99 {quantile(within, 0.99) * 1000:.0f} ms, {len(within)} pings)")
        if len(offending) == 1:
            print(f"  responsible for the p99 during {phase}: {offending[0]}")
        else:
            print(f"  {len(offending)} cases each hold the pings sent meanwhile to a p99 >= "
                  f"{P99_TARGET * 1000:.0f} ms: {'; '.join(offending[:12])}")  # fmt: skip
    return failures


def _sent_between(pings: list[tuple[float, float, int]], start: float, end: float) -> list[tuple[float, float, int]]:
    """The pings (sorted by send time) sent from ``start`` to before ``end``."""
    return pings[
        bisect.bisect_left(pings, start, key=lambda p: p[0]) : bisect.bisect_left(pings, end, key=lambda p: p[0])
    ]


def _windows(spans: list[tuple[float, float, str, str, str]], phase_end: float) -> list[tuple[float, float, str, str]]:
    """Each message's window, ``(start, end, case, group)``: from when it was sent to when the next
    was. A ping sent in a window waited on that message (the fuzzer settles after each hostile
    case, so no case's backlog spills into the next one's window)."""
    starts = [span[0] for span in spans[1:]] + [phase_end] if spans else []
    return [(span[0], until, span[4], span[3]) for span, until in zip(spans, starts, strict=True)]


# -- the transports -------------------------------------------------------------------------------------


def settle(base: str, seconds: float = 10.0) -> None:
    """Wait (at most ``seconds``) until the server answers a ping within 20 ms: the backlog of
    pings a slow case left behind is answered, so the next case starts on a quiet server."""
    deadline = time.monotonic() + seconds
    time.sleep(0.05)
    with httpx.Client(base_url=base, headers={**AUTH, "Content-Type": "application/json"}, timeout=30) as client:
        while time.monotonic() < deadline:
            start = time.monotonic()
            client.post("/v1", content=PING_BODY)
            if time.monotonic() - start < 0.020:
                break
            time.sleep(0.05)
    time.sleep(0.1)


#: Every tenth request declares one of these instead of application/json (None: no header at all).
ODD_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/json; charset=utf-8", "application/problem+json", "*/*", "garbage", "",
                     None)  # fmt: skip


def fuzz_http(base: str, cases: list[Case], payloads: list[bytes], timeline: Timeline) -> list[str]:
    """POST each hostile case, then each body; prints the figures, returns the failures."""
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []
    checker = schemas.validator("response")

    def post(client: httpx.Client, body: bytes, headers: dict[str, str], what: str) -> httpx.Response:
        response = client.post("/v1", content=body, headers=headers)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"HTTP {response.status_code} for {what}")
        try:
            problems = [e.message for e in checker.iter_errors(response.json())]
        except ValueError:
            problems = ["not JSON"]
        if problems:
            failures.append(f"HTTP body: {problems[0]} for {what}")
        return response

    json_type = {"Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        print("HTTP hostile cases:")
        for case in cases:
            body = case.make()
            start = time.monotonic()
            response = post(client, body, json_type, case.name)
            took = timeline.record(start, "HTTP", "hostile cases", case.name)
            settle(base)
            codes = [e.get("code") for e in response.json().get("errors", [])]
            wrong = response.status_code != case.status
            print(
                f"  {case.name} ({len(body):,} B): {response.status_code} {_codes(codes)} in {took * 1000:.0f} ms"
                f"{'  WRONG: expected ' + str(case.status) if wrong else ''}"
            )
            if wrong:
                failures.append(f"HTTP {response.status_code} for {case.name}, expected {case.status}")
        client.post("/_mock/reset", json={})
        start_all = time.perf_counter()
        for i, body in enumerate(payloads):
            content_type = ODD_CONTENT_TYPES[i // 10 % len(ODD_CONTENT_TYPES)] if i % 10 == 9 else "application/json"
            headers = {} if content_type is None else {"Content-Type": content_type}
            start = time.monotonic()
            post(client, body, headers, repr(body[:120]))
            timeline.record(start, "HTTP", "generated bodies", f"body #{i} {body[:40]!r}")
            if i % 500 == 499:
                client.post("/_mock/reset", json={})
    elapsed = time.perf_counter() - start_all
    sent = len(cases) + len(payloads)
    print(f"HTTP: sent {len(cases)} hostile cases, then {len(payloads)} requests in {elapsed:.1f} s "
          f"({len(payloads) / elapsed:.0f}/s)")  # fmt: skip
    print(f"HTTP: statuses of all {sent} {dict(sorted(statuses.items()))}")
    print(f"HTTP: answers >= 500, failing the response schema or not the status expected: {len(failures)}")
    return failures


def _codes(codes: list[Any]) -> str:
    if not codes:
        return "(data)"
    counted = collections.Counter(codes)
    return ", ".join(f"{code}" + (f" × {n}" if n > 1 else "") for code, n in counted.items())


def exchange_marked(ws: Any, frame: bytes, timeout: float = 60) -> list[dict[str, Any]]:
    """Send ``frame``, then a getResponse of a fresh taskUUID as a marker; the server frames up to
    the marker's taskNotFound (ws_exchange's ping marker cannot follow a frame that is a ping)."""
    marker = str(uuid.uuid4())
    ws.send(frame.decode("utf-8"))
    ws.send(json.dumps([{"taskType": "getResponse", "taskUUID": marker}]))
    received: list[dict[str, Any]] = []
    while True:
        reply = json.loads(ws.recv(timeout=timeout))
        if [e.get("taskUUID") for e in reply.get("errors", [])] == [marker]:
            return received
        received.append(reply)


def fuzz_ws(base: str, cases: list[Case], payloads: list[bytes], timeline: Timeline) -> list[str]:
    """Send each hostile case, then each body, as a frame on one socket; prints the figures, returns the failures."""
    kinds: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    frames = 0
    start_all = time.perf_counter()
    try:
        with ws_connect(base) as ws:
            print("WS hostile cases:")
            for case in cases:
                body = case.make()
                start = time.monotonic()
                replies = exchange_marked(ws, body)
                took = timeline.record(start, "WS", "hostile cases", case.name)
                settle(base)
                frames += len(replies)
                codes = [e.get("code") for r in replies for e in r.get("errors", [])]
                for reply in replies:
                    kinds[reply["errors"][0].get("code", "?") if "errors" in reply else "data"] += 1
                    failures += [f"WS frame: {problem} for {case.name}" for problem in ws_problems(reply)]
                served = bool(replies) and not codes
                wrong = served != (case.status == 200)
                print(
                    f"  {case.name} ({len(body):,} B): {_codes(codes)} in {took * 1000:.0f} ms"
                    f"{'  WRONG: expected ' + ('data' if case.status == 200 else 'an error') if wrong else ''}"
                )
                if wrong:
                    failures.append(f"WS {_codes(codes)} for {case.name}, expected status {case.status}")
            httpx.post(f"{base}/_mock/reset", json={})
            for i, body in enumerate(payloads):
                start = time.monotonic()
                for reply in ws_exchange(ws, body, binary=i % 5 == 4):
                    frames += 1
                    kinds[reply["errors"][0].get("code", "?") if "errors" in reply else "data"] += 1
                    failures += [f"WS frame: {problem} for {body[:120]!r}" for problem in ws_problems(reply)]
                timeline.record(start, "WS", "generated bodies", f"frame #{i} {body[:40]!r}")
                if i % 500 == 499:
                    httpx.post(f"{base}/_mock/reset", json={})
            ws_exchange(ws, b"[]")  # still open and answering
    except Exception as exc:  # the socket closed or timed out: that is a failure, not a crash of the bench
        failures.append(f"WS: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - start_all
    print(f"WS: sent {len(cases)} hostile cases and {len(payloads)} frames (+ a ping each) in {elapsed:.1f} s; "
          f"{frames} server frames besides the pongs")  # fmt: skip
    print(f"WS: frames by first error code {dict(kinds.most_common())}")
    print(f"WS: frames invalid, with a 5xx-class code or not the answer expected, or a closed socket: {len(failures)}")
    return failures


# -- the run ---------------------------------------------------------------------------------------------


def wait_until_up(base: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{base}/_mock/config")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="generated requests (and frames) to send (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--transport", choices=["both", "http", "ws"], default="both")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of pings alone first, the baseline")
    args = parser.parse_args()

    payloads = bodies(args.n, args.seed)
    cases = hostile_cases(args.seed, MockConfig().max_body_bytes)
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    exe = Path(sys.executable).with_name("ideogram-kit")
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--seed", str(args.seed)], stdout=log, stderr=log, env=os.environ
    )
    base = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    timeline = Timeline([], [])
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    receive, send = spawn.Pipe(duplex=False)
    pinger = spawn.Process(target=_pinger, args=(base, stop, send, 3600.0), daemon=True)
    samples: list[tuple[float, float, int]] = []
    try:
        wait_until_up(base)
        pinger.start()
        if not receive.poll(60) or receive.recv() != "ready":  # its first ping answered: the pinger is up
            raise RuntimeError("the pinger did not start")
        start = time.monotonic()
        time.sleep(args.idle)
        timeline.phases.append((start, time.monotonic(), "idle"))
        if args.transport in ("both", "http"):
            start = time.monotonic()
            failures += fuzz_http(base, cases, payloads, timeline)
            timeline.phases.append((start, time.monotonic(), "HTTP"))
        if args.transport in ("both", "ws"):
            httpx.post(f"{base}/_mock/reset", json={})  # the same bodies again: no conflicts with the HTTP run's tasks
            start = time.monotonic()
            failures += fuzz_ws(base, cases, payloads, timeline)
            timeline.phases.append((start, time.monotonic(), "WS"))
        stop.set()
        if receive.poll(120):
            samples = receive.recv()
        else:
            failures.append("the pinger sent no figures")
    finally:
        stop.set()
        pinger.join(timeout=30)
        if pinger.is_alive():
            pinger.terminate()
        server.terminate()
        server.wait(timeout=30)
    failures += report_pings(samples, timeline)
    log.seek(0)
    tracebacks = log.read().count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}; server exit code: {server.returncode}")
    for line in failures[:10]:
        print("  ", line)
    return 1 if failures or tracebacks or server.returncode else 0


if __name__ == "__main__":
    raise SystemExit(main())
