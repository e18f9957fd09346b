"""A small soak in CI (bench/soak.py runs the full 1,000 tasks from 50 clients): async tasks with
webhooks to a receiver that fails 30% of attempts lose and duplicate nothing, poll right, and
are forgotten after retention."""

from __future__ import annotations

import asyncio

from .soak import soak


def test_webhooks_exactly_once_under_failures_and_retention_forgets() -> None:
    report = asyncio.run(soak(tasks=120, clients=12, fail_rate=0.3, retention=6.0, seed=11, rounds=1))
    assert report.refused > 0, "the receiver never failed: the retry path was not exercised"
    assert (report.lost, report.duplicated) == (0, 0), report.summary()
    assert report.poll_mismatches == [], report.poll_mismatches[:3]
    assert report.forgotten_after_retention == report.tasks, report.summary()
