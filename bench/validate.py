"""Benchmark: ideogram_kit.validate against jsonschema, fastjsonschema and jsonschema-rs, same schema.

Run by hand:  .venv/bin/python bench/validate.py [--seconds 2.0] [--rounds 50]

Baselines, all on the same payloads and on our bundled schema, measured in the same run:
- jsonschema      Draft202012Validator(request schema, registry).is_valid / iter_errors
- fastjsonschema  compiled from the same documents (rewritten to draft-07 with local $refs,
                  since fastjsonschema has no 2020-12 support)
- jsonschema-rs   (``jsonschema_rs``, compiled Rust) Draft202012Validator with a Registry of the
                  bundled documents; a column only when it is importable
The script first checks that all of them agree on every payload.

Ours: ``ideogram_kit.validate`` (the whole call: compiled predicate, warning test, result list);
for the invalid task the full report (TaskError items in Runware's dialect) and, separately, the
raw errors of the compiled collector the report is built from (``compile_error_collector``),
which is what the baselines' ``iter_errors`` produce. Each figure is the best of ``--rounds``
rounds, the candidates measured in turn within each round (a noisy machine slows all alike).
Ratios are baseline time / our time: above 1 we are faster.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import fastjsonschema

import ideogram_kit
from ideogram_kit import compiler, schemas, validation

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - an optional reference
    jsonschema_rs = None  # type: ignore[assignment]

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
INVALID_TASK["providerSettings"]["ideogram"]["remixStrenght"] = 1  # two mistakes: out of range, unknown key
TARGET_VALID_US = 3.0  # issue 14: the docs example's valid path
TARGET_REPORT_US = 300.0  # issue 14: the two-mistake task's full report

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


def measure(candidates: dict[str, Callable[[], object]], seconds: float, rounds: int) -> dict[str, float]:
    """Seconds per call of each candidate: the best of ``rounds`` rounds, the candidates taking turns."""
    reps = {}
    for name, fn in candidates.items():
        fn()  # warm up: a first call may compile something, which would fool the calibration below
        n = 1
        while True:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            elapsed = time.perf_counter() - start
            if elapsed > 0.01:
                break
            n *= 4
        reps[name] = max(1, int(n * (seconds / rounds) / elapsed))
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / reps[name])
    return best


def rust_validator() -> Any:
    if jsonschema_rs is None:
        return None
    registry = jsonschema_rs.Registry([(schemas.uri(name), schemas.load(name)) for name in schemas.DOCUMENTS])
    return jsonschema_rs.Draft202012Validator(schemas.load("request"), registry=registry)


def row(label: str, ours: float, times: Mapping[str, float], names: list[str]) -> str:
    """One line: our µs, each baseline's µs (``-`` when not measured), then baseline / ours."""
    cells = [f"{ours * 1e6:9.2f}"]
    ratios = []
    for name in names:
        base = times.get(name)
        cells.append(f"{base * 1e6:{len(name)}.2f}" if base else f"{'-':>{len(name)}}")
        ratios.append(f"{base / ours:{len(name) + 2}.2f}×" if base else f"{'-':>{len(name) + 3}}")
    return f"{label:32} {' '.join(cells)}   {' '.join(ratios)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per candidate and case")
    parser.add_argument("--rounds", type=int, default=50, help="rounds per measurement (the best one counts)")
    args = parser.parse_args()

    plain = schemas.validator("request")
    fast = fastjsonschema.compile(draft7_schema())
    rust = rust_validator()
    # absent before the kit compiled its report: this script also measures older commits (PYTHONPATH=<old>/src)
    compile_collector = getattr(compiler, "compile_error_collector", None)
    collect = compile_collector(schemas.registry(), schemas.uri("request")) if compile_collector else None

    def fast_is_valid(payload: Any) -> bool:
        try:
            fast(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    for payload in [*VALID.values(), [INVALID_TASK], [{**DOCS_EXAMPLE, "width": 1000}]]:
        answers = {ideogram_kit.is_valid(payload), plain.is_valid(payload), fast_is_valid(payload)}
        if rust is not None:
            answers.add(rust.is_valid(payload))
        assert len(answers) == 1, f"validators disagree on {payload}"
    if collect is not None:
        raw = [(list(e.absolute_path), e.validator) for e in collect([INVALID_TASK])]
        assert raw == [(list(e.absolute_path), e.validator) for e in plain.iter_errors([INVALID_TASK])], raw

    names = ["jsonschema", "fastjsonschema"] + (["jsonschema-rs"] if rust is not None else [])
    missing = "" if rust is not None else "; jsonschema-rs: not installed"
    print(f"µs per call; ratios = baseline / ours (above 1: ours is faster){missing}")
    print(f"{'case':32} {'ours':>9} {' '.join(names)}   {' '.join('vs ' + n for n in names)}")
    valid: dict[str, float] = {}
    for name, payload in VALID.items():
        candidates: dict[str, Callable[[], object]] = {
            "ours": functools.partial(ideogram_kit.validate, payload),
            "jsonschema": functools.partial(plain.is_valid, payload),
            "fastjsonschema": functools.partial(fast_is_valid, payload),
        }
        if rust is not None:
            candidates["jsonschema-rs"] = functools.partial(rust.is_valid, payload)
        times = measure(candidates, args.seconds, args.rounds)
        valid[name] = times["ours"]
        print(row(f"valid: {name}", times["ours"], times, names))

    payload = [INVALID_TASK]
    candidates = {
        "ours": functools.partial(ideogram_kit.validate, payload),
        "jsonschema": lambda: list(plain.iter_errors(payload)),
    }
    if collect is not None:
        candidates["raw"] = lambda: list(collect(payload))
    remembered = getattr(validation, "_remembered_suggestion", None)  # did-you-mean answers, remembered
    if remembered is not None:

        def uncached() -> object:
            remembered.cache_clear()
            return ideogram_kit.validate(payload)

        candidates["uncached"] = uncached
    if rust is not None:
        candidates["jsonschema-rs"] = lambda: list(rust.iter_errors(payload))
    times = measure(candidates, args.seconds, args.rounds)
    print(row("invalid: full report", times["ours"], times, names))
    if remembered is not None:
        print(row("invalid: full report, first time", times["uncached"], times, names))
    if collect is not None:
        print(row("invalid: raw errors only", times["raw"], times, names))
    print("  (baselines on invalid: list(iter_errors(...)), raw errors; fastjsonschema stops at the first)")
    if remembered is not None:
        print("  ('first time': the did-you-mean answer not yet remembered, as for a mistake the process has not seen)")
    print()
    for what, us, target in [
        ("valid docs example", valid["docs example"] * 1e6, TARGET_VALID_US),
        ("two-mistake full report", times["ours"] * 1e6, TARGET_REPORT_US),
    ]:
        print(f"target: {what} <= {target:g} µs: {us:.2f} µs, {'met' if us <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
