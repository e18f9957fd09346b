"""Benchmark: sync tasks over the mock's WebSocket transport against its REST path, same server.

Run by hand (about 85 s with the defaults):

    .venv/bin/python bench/ws.py [--seconds 5] [--sockets 16] [--rounds 2] [--processes 2]

The server is the mock as users run it, ``ideogram-kit serve --port P`` (its defaults), in its own
subprocess on 127.0.0.1 with a free port; it is reset (``POST /_mock/reset``) before each run so
every run starts from the same state. Each task is the docs example (``examples/docs-example.json``)
with a fresh uuid4 taskUUID, sync, URL output; a task is done when its answer has arrived. After a
warm-up, ``--rounds`` rounds (the order reversed every other round) measure, each for ``--seconds``:

- ``REST, 1 client (wrk)``: ``wrk -t1 -c1`` with ``bench/fresh_task.lua`` (one task at a time);
- ``REST, 1 conn (raw client)``: the same with the WS runs' own client speaking HTTP/1.1
  keep-alive, so the WS/REST ratio can also be read with the same client on both sides (one task
  at a time, throughput is bound by the round trip, and the client's own time per task counts);
- ``WS, 1 socket``: one socket, one task in flight;
- ``REST, N clients (wrk)``: ``wrk -t2 -c16`` (N = ``--sockets``), as ``bench/serve.py`` runs it;
- ``REST, N conns (raw client)``: the WS runs' client speaking HTTP/1.1, as above;
- ``WS, N sockets``: N sockets, one task in flight on each, spread over ``--processes`` client
  processes;
- ``WS, 1 socket, N in flight``: one socket with N tasks outstanding (pipelined).

The WebSocket client (``bench/_load.py``) is a selector loop over raw sockets in separate client
processes: frames are built by hand with the zero mask and answers matched by their taskUUID
without parsing the JSON, so the client costs little per task. Without ``wrk`` the REST runs use
that client too, and the output says so.

What each figure means: ``tasks/s`` is tasks answered divided by the run's duration; ``p50``/``p99``
are latency percentiles from sending a task to its answer; ``server CPU ms/task`` is the server
process's user + system CPU time over the run (``/proc/<pid>/stat``) divided by the tasks answered,
the figure least disturbed by a noisy machine; ``client CPU cores`` is the load generator's CPU
seconds per second of the run (``getrusage``), the check that the client is not the bottleneck.
The summary gives the median over rounds and the ratios WS / REST, each naming its baseline
(target: WS tasks/s >= 1.0x REST at the same concurrency).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from _load import Run, Server, free_port, have_wrk, measure, median_run, mock_argv


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run (default 5)")
    parser.add_argument("--sockets", type=int, default=16, help="concurrency N (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each kind (default 2)")
    parser.add_argument("--processes", type=int, default=2, help="client processes for N sockets (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up per transport (default 1 s)")
    args = parser.parse_args()
    n, seconds = args.sockets, args.seconds

    def rest(conns: int) -> Callable[[Server], Run]:
        return lambda server: measure(server, "/v1", seconds, conns, processes=args.processes)

    def raw_rest(conns: int) -> Callable[[Server], Run]:
        return lambda server: measure(server, "/v1", seconds, conns, kind="raw-http", processes=args.processes)

    def ws(sockets: int, in_flight: int = 1) -> Callable[[Server], Run]:
        processes = args.processes if sockets > 1 else 1
        return lambda server: measure(
            server, "/v1", seconds, sockets, kind="ws", processes=processes, in_flight=in_flight
        )

    rest_1, raw_1, ws_1 = "REST, 1 client (wrk)", "REST, 1 conn (raw client)", "WS, 1 socket"
    rest_n, raw_n = f"REST, {n} clients (wrk)", f"REST, {n} conns (raw client)"
    ws_n, ws_pipe = f"WS, {n} sockets", f"WS, 1 socket, {n} in flight"
    if not have_wrk():
        rest_1, rest_n = raw_1, raw_n
        print("wrk NOT FOUND: the REST runs use the raw-socket client processes of bench/_load.py as well")
    phases: dict[str, Callable[[Server], Run]] = {
        rest_1: rest(1),
        raw_1: raw_rest(1),
        ws_1: ws(1),
        rest_n: rest(n),
        raw_n: raw_rest(n),
        ws_n: ws(n),
        ws_pipe: ws(1, n),
    }
    port = free_port()
    server = Server("mock (ideogram-kit serve)", mock_argv(port), port).start()
    runs: dict[str, list[Run]] = {name: [] for name in phases}
    try:
        measure(server, "/v1", args.warmup, n, processes=args.processes)
        measure(server, "/v1", args.warmup, n, kind="ws", processes=args.processes)
        for round_ in range(args.rounds):
            order = list(phases) if round_ % 2 == 0 else list(phases)[::-1]
            for name in order:
                server.reset()
                run = phases[name](server)
                runs[name].append(run)
                print(run.line(f"round {round_ + 1}  {name}", "task") + f"  [{run.client}]")
    finally:
        server.stop()

    medians = {name: median_run(phase_runs) for name, phase_runs in runs.items()}
    print(f"\nsummary: median of {args.rounds} rounds, the mock as users run it")
    for name, m in medians.items():
        print(
            f"  {name:<30}: {m['rps']:7.0f} tasks/s  p50 {m['p50']:6.2f} ms"
            f"  p99 {m['p99']:7.2f} ms  server CPU {m['cpu']:.3f} ms/task  client CPU {m['client']:.2f} cores"
        )
    shown: set[tuple[str, str]] = set()
    print("ratios, WS / its REST baseline (tasks/s: higher is better; server CPU per task: lower is better):")
    for over, base, target in (
        (ws_1, rest_1, " (target >= 1.0x)"),
        (ws_1, raw_1, " (same client on both sides)"),
        (ws_n, rest_n, " (target >= 1.0x)"),
        (ws_n, raw_n, " (same client on both sides)"),
        (ws_pipe, rest_n, ""),
    ):
        if (over, base) in shown:  # without wrk the raw-client baselines are the only ones
            continue
        shown.add((over, base))
        a, b = medians[over], medians[base]
        print(
            f"  {over} / {base}: tasks/s {a['rps'] / b['rps']:.2f}x{target}, "
            f"server CPU per task {a['cpu'] / b['cpu']:.2f}x"
        )
    failed = {name: m["failed"] for name, m in medians.items() if m["failed"]}
    print(
        "answers: every task answered with its result"
        if not failed
        else "answers: !! NOT every task got its result: " + ", ".join(f"{k}: {v:.0f}" for k, v in failed.items())
    )
    busiest = max(medians.values(), key=lambda m: m["client"])
    print(
        f"load generators: at most {busiest['client']:.2f} CPU cores (median over rounds) in any kind of run, "
        "against the server's one core: the client is not the bottleneck while this stays well under 1"
    )


if __name__ == "__main__":
    main()
