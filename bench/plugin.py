"""Benchmark: one mocked call through ``ideogram_mock`` against a bare respx route.

Run by hand:  .venv/bin/python bench/plugin.py [--seconds 2.0]

Both sides use one ``httpx.Client`` in the same process, posting the docs example (a valid
sync task, URL output) to ``https://api.runware.ai/v1``:

- ``ideogram_mock``: the plugin's in-process mock (what the fixture gives a test): respx hands
  the request to the mock's event-loop thread, the Starlette app and the engine validate it,
  run the task and answer with a result item and its image URL.
- baseline: a bare ``respx`` route returning a canned JSON result of the same shape.

Prints time per call for each and the ratio the README quotes (target: at most 5x).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import respx

from ideogram_kit.pytest_support import IdeogramMock

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
URL = "https://api.runware.ai/v1"
AUTH = {"Authorization": "Bearer bench-key"}
CANNED = {
    "data": [
        {
            "taskType": "imageInference",
            "taskUUID": DOCS_EXAMPLE["taskUUID"],
            "imageUUID": "2c5c8a9e-36f2-4d50-9a4f-0c1f7a3d2b11",
            "imageURL": "https://api.runware.ai/images/2c5c8a9e-36f2-4d50-9a4f-0c1f7a3d2b11.jpg",
            "seed": 1234567,
        }
    ]
}


def per_call(call: Callable[[], None], seconds: float) -> float:
    """Best of five rounds of seconds per call (after a warm-up)."""
    for _ in range(50):
        call()
    best = float("inf")
    for _ in range(5):
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 5:
            call()
            n += 1
        best = min(best, elapsed / n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per side")
    args = parser.parse_args()

    with httpx.Client(headers=AUTH) as client:

        def send() -> None:
            task = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}
            answer = client.post(URL, json=[task])
            assert answer.status_code == 200 and "imageURL" in answer.json()["data"][0], answer.text

        with respx.mock(assert_all_called=False) as router:
            router.post(URL).respond(200, json=CANNED)
            bare = per_call(send, args.seconds)

        with IdeogramMock() as mock:
            ours = per_call(send, args.seconds)
            assert not mock.invalid

    print(f"bare respx route (canned JSON): {bare * 1e6:8.1f} µs per call")
    print(f"ideogram_mock (engine + app):   {ours * 1e6:8.1f} µs per call")
    print(f"ratio: {ours / bare:.1f}x the bare route (target <= 5x)")


if __name__ == "__main__":
    main()
