"""Soak: 1,000 async tasks from 50 concurrent clients, webhooks to a receiver failing 30%.

Run by hand:  .venv/bin/python bench/soak.py [--tasks 1000] [--clients 50] [--fail-rate 0.3]

Pass criteria (exit 1 otherwise): every image delivered exactly once by delivery id (0 lost,
0 duplicated) after retries, every task polls to its right final state, every task is forgotten
once retention passes, and the server's resident memory after retention is within 20% of its
start. The driver is tests/soak.py (a smaller run of it is tests/test_soak.py, in CI).
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
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--retention", type=float, default=30.0, help="must outlast the delivery phase")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = asyncio.run(
        soak(tasks=args.tasks, clients=args.clients, fail_rate=args.fail_rate, retention=args.retention, seed=args.seed)
    )
    print(report.summary())
    for line in report.poll_mismatches[:5]:
        print("  ", line[:300])
    ok = (
        report.lost == 0
        and report.duplicated == 0
        and not report.poll_mismatches
        and report.forgotten_after_retention == report.tasks
        and report.rss_end <= 1.2 * report.rss_start
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
