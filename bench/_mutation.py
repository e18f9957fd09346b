"""Mutation testing, one module at a time: ``python bench/_mutation.py <module>|all [--list] [--keep]``.

(The leading underscore keeps it off docs/performance.md's list of benchmarks: it measures the tests,
not the kit.)

Runs mutmut 3 (the ``mutation`` extra: ``pip install -e '.[test,mutation]'``) on one module of the core
(or on each in turn with ``all``) against the tests that exercise it, with one worker, so a run fits on a
small machine. It is run by hand, not in ``.ci/run``; docs/mutation.md has the scores and the survivors.

Why the staging: mutmut 3 assumes one package root. It names a mutant after its file's path with only a
leading ``src.`` stripped, and puts only ``mutants/`` and ``mutants/src`` on ``sys.path``; this repository
has two roots (``src/ideogram_kit`` and ``mock_server/ideogram_mock``). So the script copies both packages
side by side under ``.mutation/<module>/src/`` (with the tests and the files they read), writes there a
pyproject.toml whose ``[tool.mutmut]`` table is this repository's plus the module's ``only_mutate`` and
test selection, and runs ``mutmut run`` in that directory. Nothing in the checkout is mutated.

Afterwards, to look at the survivors: ``cd .mutation/<module> && mutmut results`` (or ``mutmut show
<name>``, ``mutmut browse``). ``--keep`` reuses an existing staging (mutmut then re-tests only what it has
not decided yet); without it each run starts afresh, which is what a before/after measurement needs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - mutmut itself needs toml there
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / ".mutation"

#: Where each package lives in the checkout, and where the staging puts it (one root, as mutmut wants).
PACKAGES = {"src/ideogram_kit": "src/ideogram_kit", "mock_server/ideogram_mock": "src/ideogram_mock"}


@dataclass(frozen=True)
class Target:
    files: tuple[str, ...]  # staged paths (src/...), the files whose mutants count
    tests: tuple[str, ...]  # pytest arguments: the tests that matter; per mutant, mutmut runs those covering it


#: Tests of the server's socket handling and the fuzzers: slow (seconds each), and about server.py, limits.py
#: and robustness rather than the modules below, so mutation runs leave them out (a survivor runs every test
#: that covers it; these would make each survivor cost half a minute).
_SLOW = (
    "--deselect=tests/test_limits.py::test_sigterm_with_deliveries_hanging_and_a_client_that_never_finishes",
    "--deselect=tests/test_limits.py::test_connections_that_never_finish_a_request_are_closed",
    "--deselect=tests/test_limits.py::test_a_kept_alive_connection_is_closed_when_it_goes_quiet_and_websockets_are_not_touched",
    "--deselect=tests/test_limits.py::test_a_200_mb_body_gets_413_before_it_is_read_and_the_server_goes_on",
    "--deselect=tests/test_limits.py::test_what_http_cannot_parse_gets_a_runware_error_and_the_server_goes_on",
    "--deselect=tests/test_limits.py::test_garbage_after_an_answered_request_closes_quietly",
    "--deselect=tests/test_limits.py::test_an_inspection_page_never_passes_its_byte_cap",
)

#: It builds a wheel from the checkout's layout, which the staging (one src/) is not.
_NO_WHEEL = "--deselect=tests/test_schemas.py::test_wheel_ships_the_schemas_and_py_typed"

#: Module -> the files mutated and the tests that matter for them.
TARGETS: dict[str, Target] = {
    "validation": Target(
        ("src/ideogram_kit/validation.py",),
        (
            "tests/test_validation.py",
            "tests/test_validation_report.py",
            "tests/test_compiler.py",
            "tests/test_compiled_report.py",
            "tests/test_schemas.py",
            _NO_WHEEL,
        ),
    ),
    "compiler": Target(
        ("src/ideogram_kit/compiler.py",),
        (
            "tests/test_compiler.py",
            "tests/test_compiled_report.py",
            "tests/test_validation.py",
            "tests/test_validation_report.py",
            "tests/test_schemas.py",
            _NO_WHEEL,
        ),
    ),
    "engine": Target(
        ("src/ideogram_mock/engine.py", "src/ideogram_mock/tasks.py", "src/ideogram_mock/retention.py"),
        (
            "tests/test_retention.py",
            "tests/test_engine_answers.py",
            "tests/test_mock_app.py",
            "tests/test_mock_delivery.py",
            "tests/test_mock_websocket.py",
            "tests/test_limits.py",
            *_SLOW,
        ),
    ),
    "delivery": Target(
        ("src/ideogram_mock/delivery.py",),
        (
            "tests/test_mock_delivery.py",
            "tests/test_engine_answers.py",
            "tests/test_mock_app.py",
            "tests/test_limits.py",
            *_SLOW,
        ),
    ),
    "faults": Target(
        ("src/ideogram_mock/faults.py",),
        ("tests/test_mock_app.py", "tests/test_mock_delivery.py", "tests/test_mock_websocket.py"),
    ),
    "websocket": Target(
        ("src/ideogram_mock/websocket.py",),
        ("tests/test_mock_websocket.py", "tests/test_limits.py", "tests/test_guard.py", *_SLOW),
    ),
    "plugin_engine": Target(
        ("src/ideogram_kit/plugin_engine.py",),
        ("tests/test_failure_report.py", "tests/test_plugin.py", "tests/test_plugin_pytester.py"),
    ),
}


def _toml_value(value: object) -> str:
    # The table holds strings, numbers, booleans and lists of them, which JSON spells as TOML does.
    return json.dumps(value, ensure_ascii=False)


def _table() -> dict[str, Any]:
    """The checked-in ``[tool.mutmut]`` table of pyproject.toml."""
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"])


def _staged_pyproject(target: Target, where: Path) -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = _table()
    table["only_mutate"] = list(target.files)
    # (a test file the staged tests do not have yet, as with --tests-at an older revision, is left out)
    tests = [t for t in target.tests if t.startswith("-") or (where / t.split("::")[0]).exists()]
    table["pytest_add_cli_args_test_selection"] = tests + list(table.pop("pytest_add_cli_args_test_selection", []))
    # Drop the checked-in table (it runs to the next table header or the end) and write the module's own.
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    lines = [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return text.rstrip("\n") + "\n\n[tool.mutmut]\n" + "\n".join(lines) + "\n"


def _extract(rev: str, paths: list[str], into: Path) -> None:
    """``paths`` as they were at git revision ``rev``, written under ``into``."""
    archive = subprocess.run(["git", "archive", rev, *paths], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def stage(name: str, where: Path, *, keep: bool, tests_at: str | None = None, at: str | None = None) -> Path:
    target = TARGETS[name]
    if where.exists() and not keep:
        shutil.rmtree(where)
    where.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv*", "site")
    for source, staged in PACKAGES.items():
        shutil.copytree(ROOT / source, where / staged, ignore=ignore, dirs_exist_ok=True)
    # The tests, and what they read (the table's also_copy), which mutmut copies on into mutants/.
    for item in ["tests", *_table().get("also_copy", [])]:
        path = ROOT / item
        if path.is_dir():
            shutil.copytree(path, where / item, ignore=ignore, dirs_exist_ok=True)
        elif path.is_file():
            shutil.copy2(path, where / item)
    if at is not None:  # the packages and tests as they were at a commit
        with tempfile.TemporaryDirectory() as old:
            _extract(at, [*PACKAGES, "schema"], Path(old))  # (src/ideogram_kit/schema links to schema/)
            for source, staged in PACKAGES.items():
                shutil.rmtree(where / staged)
                shutil.copytree(Path(old) / source, where / staged, ignore=ignore)
        tests_at = tests_at or at
    if tests_at is not None:  # the tests as they were at a commit (a "before" measurement)
        shutil.rmtree(where / "tests")
        _extract(tests_at, ["tests"], where)
    (where / "pyproject.toml").write_text(_staged_pyproject(target, where), encoding="utf-8")
    # PYTHONPATH names mutants/src (below); it must exist before mutmut starts, or Python caches "no such
    # directory" for it and imports the checkout's packages instead, which no mutant lives in.
    (where / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    return where


def mutant_names(name: str) -> list[str]:
    """Every mutant mutmut makes of the module's files, named as ``mutmut run`` takes them."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    names = []
    for staged in TARGETS[name].files:
        package = staged.rsplit("/", 1)[0]
        source = ROOT / next(src for src, dst in PACKAGES.items() if dst == package) / staged.rsplit("/", 1)[1]
        mutated = mutate_file_contents(staged, source.read_text(encoding="utf-8"))
        module = staged.removeprefix("src/").removesuffix(".py").replace("/", ".")
        found = dict.fromkeys(re.findall(r"^\s*(?:async\s+)?def (x\S+__mutmut_\d+)\(", mutated.code, flags=re.M))
        names += [f"{module}.{mutant}" for mutant in found]
    return names


def survivors(where: Path) -> list[str]:
    """The mutants a run in ``where`` left alive (``mutmut results``)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    listing = subprocess.run([str(mutmut), "results"], cwd=where, capture_output=True, text=True).stdout
    return [line.split(":")[0].strip() for line in listing.splitlines() if line.strip().endswith(": survived")]


def show_survivors(name: str) -> int:
    """Print each survivor's diff (``mutmut show``), the list docs/mutation.md explains."""
    where = STAGING / name
    mutmut = Path(sys.executable).with_name("mutmut")
    for mutant in survivors(where):
        diff = subprocess.run([str(mutmut), "show", mutant], cwd=where, capture_output=True, text=True).stdout
        changed = [line for line in diff.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
        print(f"{mutant}\n" + "\n".join(f"    {line}" for line in changed))
    return 0


def _score(stats: dict[str, int]) -> tuple[int, int]:
    """``(caught, counted)``: a mutant no selected test runs (no_tests) counts against the score, as a survivor."""
    caught = stats["killed"] + stats["timeout"]
    return caught, caught + stats["survived"] + stats["no_tests"] + stats["suspicious"]


def run(
    name: str,
    *,
    keep: bool,
    sample: int | None = None,
    retest: bool = False,
    tests_at: str | None = None,
    at: str | None = None,
) -> int:
    chosen: list[str] = []
    before: dict[str, int] | None = None
    if retest:
        # A fresh session in .mutation/<module>-retest, with today's tests, on the survivors of the last
        # run only: a mutant killed then stays killed (adding tests cannot revive it).
        chosen = survivors(STAGING / name)
        before = json.loads((STAGING / name / "mutants" / "mutmut-cicd-stats.json").read_text())
        if not chosen:
            print(f"== {name}: no survivors to re-test")
            return 0
        where = stage(name, STAGING / f"{name}-retest", keep=False, tests_at=tests_at, at=at)
        print(f"== {name}: re-testing the {len(chosen)} survivors of .mutation/{name} with the current tests")
    else:
        where = stage(name, STAGING / name, keep=keep, tests_at=tests_at, at=at)
    if sample is not None:
        everything = mutant_names(name)
        # A fixed seed: the same sample every run, so a before/after pair compares the same mutants.
        chosen = sorted(random.Random(name).sample(everything, min(sample, len(everything))))
        print(f"== {name}: a sample of {len(chosen)} of its {len(everything)} mutants (seeded)", flush=True)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ)
    # Subprocesses the tests start (a live mock server, a CLI) import the mutated packages too.
    env["PYTHONPATH"] = os.pathsep.join([str(where / "mutants" / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HYPOTHESIS_PROFILE"] = "ci"  # derandomized: a mutant is killed or not, the same on every run
    print(f"== {name}: {', '.join(TARGETS[name].files)} (in {where.relative_to(ROOT)})", flush=True)
    code = subprocess.call([str(mutmut), "run", "--max-children", "1", *chosen], cwd=where, env=env)
    subprocess.call([str(mutmut), "export-cicd-stats"], cwd=where, env=env, stdout=subprocess.DEVNULL)
    stats_file = where / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        return code or 1
    stats = json.loads(stats_file.read_text())
    caught, counted = _score(stats)
    print(f"== {name}: {json.dumps(stats)}", flush=True)
    if before is None:
        score = 100 * caught / counted if counted else 0.0
        print(f"== {name}: score {score:.1f}% = {caught} killed / {counted} (killed+survived+no_tests+suspicious)")
    else:
        was, of = _score(before)
        print(f"== {name}: the new tests kill {caught} of the {len(chosen)} survivors")
        print(f"== {name}: score before {100 * was / of:.1f}% = {was}/{of}, after {100 * (was + caught) / of:.1f}%"
              f" = {was + caught}/{of}")  # fmt: skip
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", choices=[*TARGETS, "all"])
    parser.add_argument("--list", action="store_true", help="print the module -> files and tests map")
    parser.add_argument("--keep", action="store_true", help="reuse .mutation/<module> instead of starting afresh")
    parser.add_argument("--sample", type=int, metavar="N", help="test a seeded sample of N mutants, not all")
    parser.add_argument(
        "--retest",
        action="store_true",
        help="after adding tests: re-test only the last run's survivors, in .mutation/<module>-retest",
    )
    parser.add_argument("--tests-at", metavar="REV", help="use the tests as of git revision REV (a 'before' run)")
    parser.add_argument("--at", metavar="REV", help="use the packages (and tests) as of git revision REV")
    parser.add_argument("--survivors", action="store_true", help="print the last run's survivors with their diffs")
    args = parser.parse_args(argv)
    if args.list or args.module is None:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.files)}\n    tests: {' '.join(target.tests)}")
        return 0
    names = list(TARGETS) if args.module == "all" else [args.module]
    if args.survivors:
        return max([show_survivors(name) for name in names])
    return max(
        [
            run(name, keep=args.keep, sample=args.sample, retest=args.retest, tests_at=args.tests_at, at=args.at)
            for name in names
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
