"""`ideogram-kit generate`: reproducible output, labelled invalid cases, files, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ideogram_kit
from ideogram_kit.cli import main

SCRIPT = Path(sys.executable).parent / "ideogram-kit"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["generate", *argv], stdout=out)
    return code, out.getvalue()


def test_same_seed_same_bytes() -> None:
    first, second = run("-n", "30", "--seed", "1"), run("-n", "30", "--seed", "1")
    assert first == second
    assert first[0] == 0
    assert run("-n", "30", "--seed", "2")[1] != first[1]


def test_valid_lines_are_valid_tasks() -> None:
    code, text = run("-n", "25", "--seed", "3")
    lines = text.splitlines()
    assert code == 0 and len(lines) == 25
    for line in lines:
        task = json.loads(line)
        assert task["taskType"] == "imageInference"
        assert ideogram_kit.validate(task) == []


def test_invalid_lines_carry_a_label_the_validator_agrees_with() -> None:
    code, text = run("--invalid", "-n", "40", "--seed", "4")
    assert code == 0
    for line in text.splitlines():
        case: dict[str, Any] = json.loads(line)
        assert set(case) == {"payload", "parameter", "code", "kind", "reason"}
        errors = ideogram_kit.validate(case["payload"])
        assert [(e.code, e.kind, e.parameter) for e in errors] == [(case["code"], case["kind"], case["parameter"])]


def test_invalid_filters() -> None:
    code, text = run("--invalid", "--parameter", "ttl", "--kind", "outOfRange", "-n", "5", "--seed", "1")
    assert code == 0
    labels = {(case["code"], case["kind"]) for case in map(json.loads, text.splitlines())}
    assert labels == {("invalidTtl", "outOfRange")}
    code, text = run("--invalid", "--code", "invalidRemixStrength", "-n", "5", "--seed", "1")
    assert code == 0
    assert {json.loads(line)["parameter"] for line in text.splitlines()} == {"providerSettings.ideogram.remixStrength"}


def test_out_dir_files_feed_validate(tmp_path: Path) -> None:
    valid, invalid = tmp_path / "valid", tmp_path / "invalid"
    assert run("-n", "3", "--seed", "5", "--out", str(valid)) == (0, f"wrote 3 payloads to {valid}\n")
    assert sorted(p.name for p in valid.iterdir()) == ["0001.json", "0002.json", "0003.json"]
    code, _ = run("--invalid", "--payload-only", "-n", "3", "--seed", "5", "--out", str(invalid))
    assert code == 0
    out = io.StringIO()
    assert main(["validate", *map(str, sorted(valid.iterdir()))], stdout=out) == 0
    out = io.StringIO()
    assert main(["validate", *map(str, sorted(invalid.iterdir()))], stdout=out) == 1
    assert out.getvalue().endswith("3 payloads checked: 0 valid, 3 invalid (3 errors)\n")


@pytest.mark.parametrize("count", ["0", "-3", "many"])
def test_bad_count_exits_2(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("-n", count)
    assert exit_info.value.code == 2
    assert "argument -n/--count" in capsys.readouterr().err


def test_unwritable_out_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run("-n", "2", "--seed", "1", "--out", str(blocker / "sub")) == (2, "")
    err = capsys.readouterr().err
    assert err.startswith("ideogram-kit generate: error: cannot create")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--parameter", "ttl"], "add --invalid"),
        (["--payload-only"], "--payload-only strips the labels of invalid cases; add --invalid"),
        (["--invalid", "--parameter", "colour"], "matches no mistake"),
    ],
)
def test_bad_selection_exits_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*argv, "--seed", "1") == (2, "")
    assert message in capsys.readouterr().err


def test_without_seed_the_seed_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("-n", "1")
    assert code == 0 and len(text.splitlines()) == 1
    assert "pass --seed" in capsys.readouterr().err


def test_console_script_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    argv = [str(SCRIPT), "generate", "-n", "100", "--seed", "1"]
    first = subprocess.run(argv, capture_output=True, check=True, cwd=tmp_path, timeout=120)
    second = subprocess.run(argv, capture_output=True, check=True, cwd=tmp_path, timeout=120)
    assert first.stdout == second.stdout
    assert len(first.stdout.splitlines()) == 100
    assert list(tmp_path.iterdir()) == []  # no .hypothesis directory left behind
