"""The README stays true: its set-up commands are what CI runs, its examples are files that run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks_after(heading: str) -> list[tuple[str, str]]:
    section = README[README.index(heading) :]
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]


def test_two_setup_commands_and_ci_runs_the_second() -> None:
    section = README[README.index("## Set-up") : README.index("\n## ", README.index("## Set-up") + 1)]
    commands = [body.strip() for lang, body in BLOCK.findall(section)]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1]
    assert commands[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")


def linked_examples() -> list[tuple[str, str]]:
    """(file, code) for each README code block introduced by a line naming `examples/<file>`."""
    found = []
    for match in re.finditer(r"`(examples/[\w./-]+\.py)`[^\n]*\n\n```python\n(.*?)```", README, re.DOTALL):
        found.append((match.group(1), match.group(2)))
    return found


def test_readme_names_its_example_files() -> None:
    assert "examples/validate_example.py" in dict(linked_examples())


@pytest.mark.parametrize(("path", "code"), linked_examples(), ids=[p for p, _ in linked_examples()])
def test_readme_code_is_the_example_file(path: str, code: str) -> None:
    assert (ROOT / path).read_text() == code


def test_validate_example_prints_what_the_readme_shows() -> None:
    section = README[README.index("`examples/validate_example.py`") :]
    expected = BLOCK.findall(section)[1][1]
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "validate_example.py")], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == expected
