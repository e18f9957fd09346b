"""The GitHub Action (``action.yml``) does what docs/guide/validation.md says: its steps run here as GitHub runs them.

Each ``run:`` script is run with ``bash --noprofile --norc -eo pipefail`` (GitHub's ``shell: bash``), with its
``env:`` and the ``${{ ... }}`` expressions substituted as GitHub would, on the sample files shipped in
``examples/``. The validate step finds ``ideogram-kit`` on PATH, where the install step puts it
(``$GITHUB_PATH``); the install step itself builds a virtualenv from PyPI, so its test is marked ``sdk``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: dict[str, dict[str, Any]] = {step["name"]: step for step in ACTION["runs"]["steps"]}
EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")
BIN = str(Path(sys.executable).parent)  # this venv's bin: where ideogram-kit is installed for the suite


def run_step(name: str, inputs: dict[str, str], tmp_path: Path, path: str = BIN) -> subprocess.CompletedProcess[str]:
    """Run one step of the action as GitHub would, from the repository's root (the workspace)."""
    step = STEPS[name]
    assert step["shell"] == "bash"
    given = {key: spec.get("default", "") for key, spec in ACTION["inputs"].items()}
    unknown = set(inputs) - set(given)
    assert not unknown, f"not inputs of the action: {unknown}"
    given.update(inputs)
    context = {f"inputs.{key}": value for key, value in given.items()} | {"github.action_path": str(ROOT)}

    def substitute(text: str) -> str:
        return EXPRESSION.sub(lambda m: context[m.group(1)], text)

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({key: substitute(str(value)) for key, value in step.get("env", {}).items()})
    env.update(RUNNER_TEMP=str(tmp_path), GITHUB_PATH=str(tmp_path / "github_path"), PATH=f"{path}:{env['PATH']}")
    script = tmp_path / "step.sh"
    script.write_text(substitute(step["run"]))
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_every_input_is_used_and_documented() -> None:
    used = {m.group(1) for step in STEPS.values() for v in step.get("env", {}).values() for m in EXPRESSION.finditer(v)}
    assert used == {f"inputs.{key}" for key in ACTION["inputs"]} | {"github.action_path"}
    guide = (ROOT / "docs" / "guide" / "validation.md").read_text()
    for key in ACTION["inputs"]:
        assert f"| `{key}` |" in guide, f"input {key} is not in the guide's table"
    assert ACTION["runs"]["using"] == "composite"


def test_valid_files_pass(tmp_path: Path) -> None:
    done = run_step("Validate payloads", {"files": "examples/tasks/*.json\nexamples/fixtures.jsonl"}, tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_invalid_payload_is_an_error_annotation_and_fails(tmp_path: Path) -> None:
    done = run_step("Validate payloads", {"files": "examples/tasks/*.json examples/bad.json"}, tmp_path)
    assert done.returncode == 1, done
    assert done.stdout.splitlines() == [
        "::error file=examples/bad.json,title=invalidRemixStrength providerSettings.ideogram.remixStrength::task 0 "
        "(6ba7b824-9dad-41d1-80b4-00c04fd430c8): Invalid value for 'remixStrength' parameter. It must be an integer "
        "value between 1 and 100, got 150."
    ]


@pytest.mark.parametrize(("strict", "returncode", "level"), [("false", 0, "warning"), ("true", 1, "error")])
def test_warnings_fail_only_when_strict(tmp_path: Path, strict: str, returncode: int, level: str) -> None:
    done = run_step("Validate payloads", {"files": "examples/warnings.json", "strict": strict}, tmp_path)
    assert done.returncode == returncode, done
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [f"::{level}", f"::{level}"], lines
    assert "title=deprecatedParameter checkNSFW" in lines[1]


def test_a_glob_that_matches_nothing_fails(tmp_path: Path) -> None:
    done = run_step("Validate payloads", {"files": "examples/tasks/*.json payloads/**/*.json"}, tmp_path)
    assert done.returncode == 1
    assert done.stdout == "::error title=ideogram-kit validate::no file matches payloads/**/*.json\n"


def test_globstar_reaches_folders(tmp_path: Path) -> None:
    done = run_step("Validate payloads", {"files": "examples/**/anime.json"}, tmp_path)
    assert (done.returncode, done.stdout) == (0, "")
    broken = run_step("Validate payloads", {"files": "examples/**/truncated.json"}, tmp_path)
    assert broken.returncode == 2
    assert broken.stdout.startswith("::error file=examples/truncated.json,line=13,col=1")


@pytest.mark.sdk  # builds a virtualenv with the kit and its dependencies from PyPI
def test_the_install_step_puts_a_working_ideogram_kit_on_the_path(tmp_path: Path) -> None:
    done = run_step("Install ideogram-remix-kit", {"files": "unused"}, tmp_path, path="/usr/bin")
    assert done.returncode == 0, done
    (bin_dir,) = (tmp_path / "github_path").read_text().splitlines()
    assert bin_dir == str(tmp_path / "ideogram-kit-venv" / "bin")
    validate = run_step("Validate payloads", {"files": "examples/bad.json"}, tmp_path, path=bin_dir)
    assert validate.returncode == 1 and validate.stdout.startswith("::error file=examples/bad.json"), validate
