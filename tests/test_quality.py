"""The code stays lint-clean, formatted and strictly typed (ruff and mypy, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "src", "mock_server", "tests", "bench", "examples"],
        ["ruff", "format", "--check", "src", "mock_server", "tests", "bench", "examples"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_tool_passes(command: list[str]) -> None:
    done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_runs_hypothesis_derandomized() -> None:
    from pathlib import Path

    from hypothesis import settings

    script = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "export HYPOTHESIS_PROFILE=ci" in script
    assert settings.get_profile("ci").derandomize is True
