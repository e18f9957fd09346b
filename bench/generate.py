"""Valid examples per second through ``@given``: ideogram_kit.strategies vs hypothesis-jsonschema.

Run by hand: ``.venv/bin/python bench/generate.py [--examples N]``.

Ours: ``valid_tasks()`` in this venv. Theirs: ``hypothesis_jsonschema.from_schema`` on the
bundled standalone schema (``ideogram-kit schema image-inference``), in a throw-away venv
``bench/.venv-hjs`` holding ``hypothesis==6.170.0`` (hypothesis-jsonschema's last working
hypothesis; it raises AttributeError on >= 6.170.15). Both loops are the same: a ``@given``
test with ``max_examples=N``, generate phase only, no database, no deadline; the rate is
examples the test body saw divided by wall time. If the venv cannot be built (no network),
the recorded figure of ~89 examples/s on this machine is used instead, and the output says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HJS_VENV = ROOT / "bench" / ".venv-hjs"
RECORDED_THEIRS = 89.0
PACKAGES = ["hypothesis==6.170.0", "hypothesis-jsonschema", "jsonschema"]

LOOP = """
import json, sys, time
from hypothesis import HealthCheck, Phase, given, settings
{setup}
count = 0
@settings(max_examples={n}, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(strategy)
def body(example):
    global count
    count += 1
start = time.perf_counter()
body()
print(json.dumps({{"examples": count, "seconds": time.perf_counter() - start}}))
"""

OURS = "from ideogram_kit.strategies import valid_tasks\nstrategy = valid_tasks()"
THEIRS = "from hypothesis_jsonschema import from_schema\nstrategy = from_schema(json.load(open(sys.argv[1])))"


def measure(python: Path | str, setup: str, n: int, *args: str) -> float:
    code = LOOP.format(setup=setup, n=n)
    done = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, check=True, timeout=3600)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["examples"]) / float(result["seconds"])


def hjs_python() -> Path | None:
    python = HJS_VENV / "bin" / "python"
    if not python.exists():
        venv.create(HJS_VENV, with_pip=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PACKAGES], capture_output=True, text=True, timeout=900
    )
    if installed.returncode != 0:
        print(f"could not install {' '.join(PACKAGES)}:\n{installed.stderr.strip()[-600:]}", file=sys.stderr)
        return None
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="max_examples of each run (default: 1000)")
    args = parser.parse_args()

    ours = measure(sys.executable, OURS, args.examples)
    print(f"ideogram_kit.strategies.valid_tasks: {ours:8.1f} valid examples/s")

    python = hjs_python()
    schema_file = HJS_VENV / "image-inference.bundled.json"
    bundled = subprocess.run(
        [str(Path(sys.executable).parent / "ideogram-kit"), "schema", "image-inference"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    schema_file.write_text(bundled.stdout, encoding="utf-8")
    if python is None:
        theirs, how = RECORDED_THEIRS, "recorded figure (could not install)"
    else:
        try:
            theirs = measure(python, THEIRS, max(100, args.examples // 4), str(schema_file))
            how = "measured, hypothesis 6.170.0"
        except subprocess.CalledProcessError as exc:
            print(f"hypothesis-jsonschema run failed:\n{exc.stderr.strip()[-600:]}", file=sys.stderr)
            theirs, how = RECORDED_THEIRS, "recorded figure (run failed)"
    print(f"hypothesis-jsonschema from_schema:   {theirs:8.1f} valid examples/s ({how})")
    print(f"ratio: {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
