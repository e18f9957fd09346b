"""Benchmark: ideogram_kit.validate against plain jsonschema and fastjsonschema, same schema.

Run by hand:  .venv/bin/python bench/validate.py [--seconds 1.0]

Baselines, all on the same payloads and on our bundled schema:
- jsonschema  Draft202012Validator(request schema, registry).is_valid / iter_errors
- fastjsonschema  compiled from the same documents (rewritten to draft-07 with local $refs,
  since fastjsonschema has no 2020-12 support; the script checks both agree on every payload)

Prints time per call and the ratios the README quotes.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

import ideogram_kit
from ideogram_kit import schemas

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())

FULL_TASK = {
    **DOCS_EXAMPLE,
    "negativePrompt": "blurry, low quality",
    "outputType": "URL",
    "outputFormat": "WEBP",
    "outputQuality": 90,
    "deliveryMethod": "async",
    "webhookURL": "https://hooks.example.com/runware?token=abc",
    "uploadEndpoint": "https://bucket.example.com/out.webp?sig=1",
    "safety": {"checkContent": True, "mode": "fast"},
    "ttl": 3600,
    "includeCost": True,
    "numberResults": 4,
    "width": 512,
    "height": 1536,
    "providerSettings": {
        "ideogram": {
            "magicPrompt": "OFF",
            "remixStrength": 30,
            "renderingSpeed": "QUALITY",
            "styleType": "ANIME",
            "styleReferenceImages": ["https://example.com/style1.png", "c64351d5-4c59-42f7-95e1-eace013eddab"],
        }
    },
}
INVALID_TASK = copy.deepcopy(DOCS_EXAMPLE)
INVALID_TASK["providerSettings"]["ideogram"]["remixStrength"] = 150
INVALID_TASK["providerSettings"]["ideogram"]["remixStrenght"] = 1

VALID = {"docs example": [DOCS_EXAMPLE], "all options": [FULL_TASK]}


def draft7_schema() -> dict[str, Any]:
    """All bundled documents as one draft-07 schema with local $refs (for fastjsonschema)."""
    names = {schemas.DOCUMENTS[n]: n for n in schemas.DOCUMENTS}

    def rewrite(node: Any, doc: str) -> Any:
        if isinstance(node, list):
            return [rewrite(x, doc) for x in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in ("$schema", "$id"):
                continue
            if key == "$ref":
                file, _, pointer = value.partition("#")
                target = names[file] if file else doc
                out[key] = f"#/definitions/{target}{pointer}"
            elif key == "dependentSchemas":
                out["dependencies"] = rewrite(value, doc)
            else:
                out[key] = rewrite(value, doc)
        return out

    definitions = {name: rewrite(schemas.load(name), name) for name in schemas.DOCUMENTS}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": definitions,
            "$ref": "#/definitions/request"}  # fmt: skip


def per_call(fn: Callable[[], object], seconds: float) -> float:
    """Seconds per call: best of 5 rounds, each about seconds/5 long."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            break
        n *= 4
    rounds = []
    reps = max(1, int(n * (seconds / 5) / elapsed))
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        rounds.append((time.perf_counter() - start) / reps)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="time budget per measurement")
    args = parser.parse_args()

    plain = schemas.validator("request")
    fast = fastjsonschema.compile(draft7_schema())

    def fast_is_valid(payload: Any) -> bool:
        try:
            fast(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    for payload in [*VALID.values(), [INVALID_TASK], [{**DOCS_EXAMPLE, "width": 1000}]]:
        agree = {ideogram_kit.is_valid(payload), plain.is_valid(payload), fast_is_valid(payload)}
        assert len(agree) == 1, f"validators disagree on {payload}"

    print(f"{'case':34} {'ours':>10} {'jsonschema':>11} {'fastjsonschema':>15} {'vs js':>8} {'vs fjs':>8}")
    for name, payload in VALID.items():
        ours = per_call(lambda p=payload: ideogram_kit.validate(p), args.seconds)
        base = per_call(lambda p=payload: plain.is_valid(p), args.seconds)
        fjs = per_call(lambda p=payload: fast_is_valid(p), args.seconds)
        print(f"{'valid: ' + name:34} {ours * 1e6:8.2f}µs {base * 1e6:9.2f}µs {fjs * 1e6:13.2f}µs "
              f"{base / ours:7.1f}× {fjs / ours:7.2f}×")  # fmt: skip

    payload = [INVALID_TASK]
    ours = per_call(lambda: ideogram_kit.validate(payload), args.seconds)
    base = per_call(lambda: list(plain.iter_errors(payload)), args.seconds)
    print(f"{'invalid: full report':34} {ours * 1e6:8.2f}µs {base * 1e6:9.2f}µs {'':>15} {base / ours:7.2f}×")
    print()
    print("ratios: 'vs js' = jsonschema time / ours (higher is better, target ≥ 10 for valid);")
    print(
        "        'vs fjs' = fastjsonschema time / ours (target ≥ 1); invalid: ours ≤ 2× iter_errors means vs js ≥ 0.5"
    )


if __name__ == "__main__":
    main()
