"""Soak: 1,000 async tasks from 50 concurrent clients, webhooks to a receiver failing 30%.

Run by hand:  .venv/bin/python bench/soak.py [--tasks 1000] [--clients 50] [--fail-rate 0.3] [--rounds 3]

Criteria (exit 1 when one fails): every image delivered exactly once by delivery id (0 lost,
0 duplicated) after retries; every task polls to its right final state; every task is forgotten
once retention passes; and memory:
- "vs fresh start": the server's resident memory after retention, against its start (after a
  warm-up of every code path), must stay within 1.2x;
- "steady state": with --rounds > 1, the growth over the rounds after the first must stay
  within 5% of the start (a leak grows every round; allocator high-water does not).
Both are printed; the driver is tests/soak.py (tests/test_soak.py runs a small one in CI).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.soak import soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000, help="tasks per round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--retention", type=float, default=30.0, help="must outlast a round's delivery phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = asyncio.run(
        soak(
            tasks=args.tasks,
            clients=args.clients,
            fail_rate=args.fail_rate,
            retention=args.retention,
            seed=args.seed,
            rounds=args.rounds,
        )
    )
    print(report.summary())
    for line in report.poll_mismatches[:5]:
        print("  ", line[:300])
    delivery_ok = (
        report.lost == 0
        and report.duplicated == 0
        and not report.poll_mismatches
        and report.forgotten_after_retention == report.tasks
    )
    first_round = report.rss_rounds[0] / report.rss_start
    fresh_ok = first_round <= 1.2
    steady_growth = (report.rss_rounds[-1] - report.rss_rounds[0]) / report.rss_start
    steady_ok = steady_growth <= 0.05
    print(f"delivery, polling, retention: {'PASS' if delivery_ok else 'FAIL'}")
    print(f"memory vs fresh start after round 1: {first_round:.2f}x (target <= 1.2x): {'PASS' if fresh_ok else 'FAIL'}")
    if len(report.rss_rounds) > 1:
        verdict = "PASS" if steady_ok else "FAIL"
        print(f"memory growth over rounds 2..{len(report.rss_rounds)}: {steady_growth:+.1%} of start "
              f"(target <= 5%): {verdict}")  # fmt: skip
    return 0 if delivery_ok and fresh_ok and steady_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
