"""Benchmark: the mock's sync URL-output tasks against bare Starlette routes, driven by wrk.

Run by hand (each takes under ~3 minutes with the defaults):

    .venv/bin/python bench/serve.py [--seconds 8] [--rounds 2]   # the mock against bare routes
    .venv/bin/python bench/serve.py --flat [--requests 100000]   # the mock fresh, then after 100k tasks

Every server runs in its own subprocess on 127.0.0.1 with a free port:

- ``bare route, httptools+uvloop``: a bare Starlette route that reads the body and returns a fixed
  JSON answer of the shape of the mock's sync answer, on uvicorn with ``http="httptools",
  loop="uvloop"`` (the fastest stack on this machine): THE baseline;
- ``bare route, h11+asyncio``: the same route on uvicorn with ``http="h11", loop="asyncio"``;
- ``mock``: the mock as users run it, ``ideogram-kit serve --port P`` with its defaults;
- ``mock --http h11``: the same on h11 (skipped, with a note, when ``serve --help`` has no ``--http``).

The load is Debian's ``wrk -t2 -c16 -d<seconds>s --latency`` with ``bench/fresh_task.lua``: each
request POSTs the docs example (``examples/docs-example.json``, in a JSON array: one sync
imageInference task with URL output) with a fresh uuid4 taskUUID. Without ``wrk`` the load comes
from two client processes holding 16 keep-alive raw-socket connections (``bench/_load.py``), and
the output says so. Each server gets a one-second warm-up; then ``--rounds`` rounds run every server
once, the order reversed every other round; the mock is reset (``POST /_mock/reset``) before each
of its runs so every run starts from the same state (``--flat`` measures the state growing).

What each figure means:

- ``req/s``: requests wrk completed divided by the run's duration; ``p50``/``p99``: wrk's latency
  percentiles (``--latency``), from sending a request to its whole answer;
- ``server CPU ms/req``: the server process's user + system CPU time over the run
  (``/proc/<pid>/stat``), divided by the requests completed: the cost of one request to the
  server, the figure least disturbed by a noisy machine;
- ``client CPU cores``: CPU seconds the load generator used per second of the run (``getrusage``
  of the child), out of the machine's cores: the client is not the bottleneck while it is well
  under one core and the bare route reaches more requests/s than the mock with the same client;
- the summary gives the median over rounds per server and the ratios mock/baseline for
  requests/s (target: mock >= 0.5x the bare httptools+uvloop route) and CPU per request, each line
  naming its baseline; "NOT 200" marks runs with non-2xx answers (wrk's ``Non-2xx`` line).

``--flat`` starts the mock with its DEFAULT retention and limits, measures it fresh (``--flat-seconds``,
default 3, of wrk after a warm-up and a reset), drives it through ``--requests`` requests in all (in wrk runs
of at most 20 s; stopped at ``--fill-limit`` seconds, and then the output says how far it got),
measures it again, and prints fresh against after: requests/s, p50/p99, CPU per request, resident
memory, and the ratios after/fresh (targets: requests/s >= 0.9x, p99 <= 1/0.9 = 1.11x).

Last, the cost of a 1024x1024 base64 JPG result against a bare Pillow encode (``--no-image``
skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import re
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _load import (
    CLI,
    DOCS_EXAMPLE,
    Run,
    Server,
    bare_argv,
    free_port,
    have_wrk,
    measure,
    median_run,
    mock_argv,
    wrk,
)

BASELINE = "bare route, httptools+uvloop"
BARE_H11 = "bare route, h11+asyncio"
MOCK = "mock (ideogram-kit serve)"
MOCK_H11 = "mock --http h11"


def mock_has_http_flag() -> bool:
    done = subprocess.run([str(CLI), "serve", "--help"], capture_output=True, text=True, check=False)
    return re.search(r"^\s+--http\b", done.stdout, re.MULTILINE) is not None


def client_note() -> str:
    if have_wrk():
        return "load: wrk -t2 -c16 --latency, bench/fresh_task.lua (fresh taskUUID per request)"
    return (
        "load: wrk NOT FOUND, falling back to 2 client processes with 16 keep-alive raw-socket connections "
        "(bench/_load.py); these figures are not comparable with wrk's"
    )


def start(servers: list[tuple[str, Callable[[int], list[str]]]]) -> list[Server]:
    started: list[Server] = []
    try:
        for name, argv in servers:
            port = free_port()
            started.append(Server(name, argv(port), port).start())
    except BaseException:
        for server in started:
            server.stop()
        raise
    return started


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found[1]) / 1024 if found else float("nan")


def compare(args: argparse.Namespace) -> None:
    specs: list[tuple[str, Callable[[int], list[str]]]] = [
        (BASELINE, lambda port: bare_argv(port, "httptools", "uvloop")),
        (BARE_H11, lambda port: bare_argv(port, "h11", "asyncio")),
        (MOCK, lambda port: mock_argv(port)),
    ]
    if mock_has_http_flag():
        specs.append((MOCK_H11, lambda port: mock_argv(port, "--http", "h11")))
    else:
        print(f"note: `ideogram-kit serve --help` shows no --http flag: skipping '{MOCK_H11}'")
    print(client_note())
    print(f"{args.rounds} rounds of {args.seconds:g} s per server, order reversed every other round")
    servers = start(specs)
    runs: dict[str, list[Run]] = {server.name: [] for server in servers}
    try:
        for server in servers:  # warm-up
            measure(server, "/v1", args.warmup)
            if server.name.startswith("mock"):
                server.reset()
        for round_ in range(args.rounds):
            order = servers if round_ % 2 == 0 else servers[::-1]
            for server in order:
                if server.name.startswith("mock"):
                    server.reset()
                run = measure(server, "/v1", args.seconds)
                runs[server.name].append(run)
                print(run.line(f"round {round_ + 1}  {server.name}"))
    finally:
        for server in servers:
            server.stop()

    medians = {name: median_run(server_runs) for name, server_runs in runs.items()}
    print(f"\nsummary: median of {args.rounds} rounds per server")
    for name, m in medians.items():
        print(
            f"  {name:<30}: {m['rps']:7.0f} req/s  p50 {m['p50']:6.2f} ms  p99 {m['p99']:7.2f} ms"
            f"  server CPU {m['cpu']:.3f} ms/req"
        )
    print("ratios, mock / its baseline (requests/s: higher is better; CPU per request: lower is better):")
    pairs = [
        (MOCK, BASELINE, " (target >= 0.5x)"),
        (MOCK, BARE_H11, ""),
        (MOCK_H11, BARE_H11, ""),
        (MOCK_H11, BASELINE, ""),
    ]
    for mock, base, target in pairs:
        if mock in medians and base in medians:
            a, b = medians[mock], medians[base]
            print(
                f"  {mock} / {base}: requests/s {a['rps'] / b['rps']:.2f}x{target}, "
                f"server CPU per request {a['cpu'] / b['cpu']:.2f}x"
            )
    for name in (MOCK, MOCK_H11):
        if name in medians:
            failed = medians[name]["failed"]
            print(
                f"answers: {name}: every answer 200" + (" (wrk: no Non-2xx line)" if have_wrk() else "")
                if not failed
                else f"answers: {name}: !! {failed:.0f} answers were NOT 200"
            )
    all_runs = [run for server_runs in runs.values() for run in server_runs]
    busiest = max(run.client_cores for run in all_runs)
    fastest, ours = medians[BASELINE], medians[MOCK]
    verdict = (
        "so the client can go faster than the mock: it is not the mock's bottleneck"
        if fastest["rps"] > ours["rps"] * 1.2
        else "!! the bare route is not clearly faster than the mock: the client may be the bottleneck"
    )
    print(
        f"load generator: at most {busiest:.2f} CPU cores (of {_cores()}) in any run; with it the bare "
        f"httptools route reached {fastest['rps']:.0f} req/s, {fastest['rps'] / ours['rps']:.1f}x the mock's, {verdict}"
    )


def _cores() -> int:
    return os.cpu_count() or 1


def flat(args: argparse.Namespace) -> None:
    print(client_note())
    print(f"the mock as users run it ({MOCK}, default retention and limits), fresh and after {args.requests} requests")
    (mock,) = start([(MOCK, lambda port: mock_argv(port))])
    try:
        measure(mock, "/v1", args.warmup)
        mock.reset()
        fresh = measure(mock, "/v1", args.flat_seconds)
        fresh_rss = rss_mib(mock.pid)
        print(fresh.line("fresh"))
        total, rate, started = fresh.requests, fresh.rps, time.monotonic()
        while total < args.requests and time.monotonic() - started < args.fill_limit:
            left = args.fill_limit - (time.monotonic() - started)
            chunk = min(20.0, max(1.0, (args.requests - total) / max(rate, 1.0) + 0.5), max(1.0, left))
            run = wrk(mock.url + "/v1", chunk) if have_wrk() else measure(mock, "/v1", chunk)
            total, rate = total + run.requests, run.rps
            bad = f", !! {run.failed} NOT 200" if run.failed else ""
            print(f"  fill: {total:7d} requests so far, this run {run.rps:6.0f} req/s p99 {run.p99_ms:7.2f} ms{bad}")
        after = measure(mock, "/v1", args.flat_seconds)
        after_rss = rss_mib(mock.pid)
        print(after.line(f"after {total} requests"))
    finally:
        mock.stop()
    if total < args.requests:
        print(f"!! the fill stopped at --fill-limit {args.fill_limit:g} s: {total} requests, not {args.requests}")
    print(f"resident memory: fresh {fresh_rss:.1f} MiB, after {after_rss:.1f} MiB")
    print(f"ratio after/fresh, requests/s       : {after.rps / fresh.rps:.2f}x (target >= 0.9x)")
    print(f"ratio after/fresh, p50              : {after.p50_ms / fresh.p50_ms:.2f}x")
    print(f"ratio after/fresh, p99              : {after.p99_ms / fresh.p99_ms:.2f}x (target <= 1.11x)")
    print(f"ratio after/fresh, CPU per request  : {after.server_ms_per_request / fresh.server_ms_per_request:.2f}x")
    for name, run in (("fresh", fresh), ("after", after)):
        if run.failed:
            print(f"!! {name}: {run.failed} answers were NOT 200")


def image_ratio() -> tuple[float, float]:
    from ideogram_mock import MockEngine
    from ideogram_mock.images import ImageRecipe, ImageRenderer

    picture = ImageRenderer(0).picture(ImageRecipe("ref", "p", 1, 50, "s", 1024, 1024, "JPG", 95))

    def bare() -> None:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=95)
        base64.b64encode(out.getvalue())

    bare_times = []
    for _ in range(20):
        begun = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - begun)

    async def mock_times() -> list[float]:
        engine = MockEngine()
        times = []
        for _ in range(20):
            engine.reset()
            task = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "outputType": "base64Data"}
            begun = time.perf_counter()
            await engine.run(task, base_url="http://127.0.0.1/")
            times.append(time.perf_counter() - begun)
        await engine.aclose()
        return times

    return statistics.median(asyncio.run(mock_times())) * 1000, statistics.median(bare_times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measured run (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per server (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up run per server (default 1 s)")
    parser.add_argument("--flat", action="store_true", help="measure the mock fresh and after --requests instead")
    parser.add_argument("--requests", type=int, default=100_000, help="requests to drive through with --flat")
    parser.add_argument("--flat-seconds", type=float, default=3.0, help="the fresh and after runs of --flat (3 s)")
    parser.add_argument("--fill-limit", type=float, default=150.0, help="most seconds the --flat fill may take")
    parser.add_argument("--no-image", action="store_true", help="skip the base64 JPG result figure")
    args = parser.parse_args()
    if args.flat:
        flat(args)
        return
    compare(args)
    if not args.no_image:
        ours, pillow = image_ratio()
        print(
            f"1024x1024 base64 JPG result: {ours:.2f} ms vs bare Pillow encode {pillow:.2f} ms = {ours / pillow:.2f}x"
            " (target <= 2x)"
        )


if __name__ == "__main__":
    main()
