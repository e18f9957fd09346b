"""The README stays true and short: its set-up commands are what CI runs, its examples are files that run.

The README is the front door (what the kit is, the two set-up commands, a quickstart that ends in a
green test and an invalid payload failing it); the rest lives in the docs site, checked by
``tests/test_docs.py``. The quickstart's failure report is checked against pytest's own output by
``tests/test_plugin_pytester.py``; the validator example, now in docs/guide/validation.md, here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)

pytest_plugins = ("pytester",)


def test_two_setup_commands_and_ci_runs_the_second() -> None:
    section = README[README.index("## Set-up") : README.index("\n## ", README.index("## Set-up") + 1)]
    commands = [body.strip() for lang, body in BLOCK.findall(section)]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1]
    assert commands[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")


def test_the_readme_is_a_front_door() -> None:
    assert len(README.splitlines()) <= 300, "the README is the front door: move details to docs/"
    assert README.index("## Set-up") < README.index("## Quickstart") < README.index("## The parts of the kit")
    for page in sorted((ROOT / "docs").rglob("*.md")):
        if page.name != "index.md":  # the README links every page of the site but its home
            assert f"]({page.relative_to(ROOT)})" in README, f"the README does not link {page.relative_to(ROOT)}"


def linked_examples(text: str) -> list[tuple[str, str]]:
    """(file, code) for each code block introduced by a line naming `examples/<file>`."""
    found = []
    for match in re.finditer(r"`(examples/[\w./-]+\.py)`[^\n]*\n\n```python\n(.*?)```", text, re.DOTALL):
        found.append((match.group(1), match.group(2)))
    return found


def test_readme_names_its_example_files() -> None:
    shown = dict(linked_examples(README))
    assert {"examples/quickstart/test_remix.py", "examples/plugin_invalid_payload.py"} <= set(shown)
    python_blocks = [body for lang, body in BLOCK.findall(README) if lang == "python"]
    assert sorted(python_blocks) == sorted(shown.values()), "every Python block of the README is an example file"


@pytest.mark.parametrize(("path", "code"), linked_examples(README), ids=[p for p, _ in linked_examples(README)])
def test_readme_code_is_the_example_file(path: str, code: str) -> None:
    assert (ROOT / path).read_text() == code


def test_the_quickstart_test_passes_in_a_new_project(pytester: pytest.Pytester) -> None:
    """The quickstart's steps 2 and 3 as a user's project runs them: no conftest, the plugin from the install."""
    quickstart = README[README.index("## Quickstart") :]
    assert "cp examples/quickstart/test_remix.py /tmp/myapp/" in quickstart
    assert "cp examples/plugin_invalid_payload.py /tmp/myapp/test_too_strong.py" in quickstart
    (pytester.path / "test_remix.py").write_text((ROOT / "examples" / "quickstart" / "test_remix.py").read_text())

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)

    (pytester.path / "test_too_strong.py").write_text((ROOT / "examples" / "plugin_invalid_payload.py").read_text())
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*providerSettings.ideogram.remixStrength: Invalid value*[[]invalidRemixStrength[]]"])


def test_validate_example_prints_what_the_validation_guide_shows() -> None:
    guide = (ROOT / "docs" / "guide" / "validation.md").read_text()
    section = guide[guide.index('--8<-- "examples/validate_example.py"') :]
    expected = BLOCK.findall(section)[0]
    assert expected[0] == "text"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "validate_example.py")], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == expected[1]
