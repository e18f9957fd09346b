"""Valid examples per second through ``@given``: ideogram_kit.strategies vs hypothesis-jsonschema.

Run by hand: ``.venv/bin/python bench/generate.py [--examples N]``.

Ours: ``valid_tasks()`` in this venv. Theirs: ``hypothesis_jsonschema.from_schema`` on the
bundled standalone schema (``ideogram-kit schema image-inference``), in a throw-away venv
``bench/.venv-hjs`` holding ``hypothesis==6.170.0`` (hypothesis-jsonschema's last working
hypothesis; it raises AttributeError on >= 6.170.15). Both loops are the same ``@given`` test with
the same ``max_examples=N``, generate phase only, no database, no deadline, each in a fresh
process; the rate is the examples the test body saw divided by the wall time of the test. If the
venv cannot be built (no network) or the run fails, the output says so and gives our side only:
there is no recorded stand-in figure. The lines print as the docs quote them.
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
PACKAGES = ["hypothesis==6.170.0", "hypothesis-jsonschema", "jsonschema"]

LOOP = """
import json, sys, time
import hypothesis
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
print(json.dumps({{"examples": count, "seconds": time.perf_counter() - start, "hypothesis": hypothesis.__version__}}))
"""

OURS = "from ideogram_kit.strategies import valid_tasks\nstrategy = valid_tasks()"
THEIRS = "from hypothesis_jsonschema import from_schema\nstrategy = from_schema(json.load(open(sys.argv[1])))"


class Run:
    """One measured loop: how many examples the body saw, in how many seconds, on which hypothesis."""

    def __init__(self, result: dict[str, object]) -> None:
        self.examples = int(str(result["examples"]))
        self.seconds = float(str(result["seconds"]))
        self.hypothesis = str(result["hypothesis"])

    @property
    def rate(self) -> float:
        return self.examples / self.seconds

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.rate:.1f} valid examples/s "
            f"({self.examples} examples in {self.seconds:.2f} s, hypothesis {self.hypothesis})"
        )


def measure(python: Path | str, setup: str, n: int, *args: str) -> Run:
    code = LOOP.format(setup=setup, n=n)
    done = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, check=True, timeout=3600)
    return Run(json.loads(done.stdout.strip().splitlines()[-1]))


def hjs_python() -> Path | str:
    """The throw-away venv's python, or why it cannot be had."""
    python = HJS_VENV / "bin" / "python"
    try:
        if not python.exists():
            venv.create(HJS_VENV, with_pip=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"could not create {HJS_VENV}: {exc}"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PACKAGES], capture_output=True, text=True, timeout=900
    )
    if installed.returncode != 0:
        return f"could not install {' '.join(PACKAGES)}: {installed.stderr.strip()[-400:]}"
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="max_examples of both runs (default: 1000)")
    args = parser.parse_args()

    ours = measure(sys.executable, OURS, args.examples)
    print(ours.line("ideogram_kit.strategies.valid_tasks()"))

    python = hjs_python()
    if isinstance(python, str):
        print(f"hypothesis-jsonschema from_schema: not measured ({python})")
        return
    schema_file = HJS_VENV / "image-inference.bundled.json"
    bundled = subprocess.run(
        [str(Path(sys.executable).parent / "ideogram-kit"), "schema", "image-inference"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    schema_file.write_text(bundled.stdout, encoding="utf-8")
    try:
        theirs = measure(python, THEIRS, args.examples, str(schema_file))
    except subprocess.CalledProcessError as exc:
        print(f"hypothesis-jsonschema from_schema: not measured (the run failed: {exc.stderr.strip()[-400:]})")
        return
    print(theirs.line("hypothesis-jsonschema from_schema"))
    print(f"ratio: {ours.rate / theirs.rate:.1f}× (ours / hypothesis-jsonschema, same max_examples={args.examples})")


if __name__ == "__main__":
    main()
