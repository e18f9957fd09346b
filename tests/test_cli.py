"""`ideogram-kit validate` and `ideogram-kit schema`: exit codes, formats, positions, stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ideogram_kit import schemas
from ideogram_kit.cli import main

from .test_validation import DOCS_EXAMPLE, with_value

ROOT = Path(__file__).resolve().parent.parent


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=FakeStdin(stdin), stdout=out)
    return code, out.getvalue()


def write(tmp_path: Path, name: str, payload: Any) -> str:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload, indent=2))
    return str(path)


def test_docs_example_file_is_valid() -> None:
    code, out = run("validate", str(ROOT / "examples" / "docs-example.json"))
    assert code == 0
    assert out.splitlines() == [f"{ROOT / 'examples' / 'docs-example.json'}: ok", "1 payload checked: 1 valid"]


def test_out_of_range_exits_1_with_path_bound_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", with_value("providerSettings.ideogram.remixStrength", 150))
    code, out = run("validate", path)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{path}: task 0 (6ba7b824-9dad-41d1-80b4-00c04fd430c8): ")
    assert "providerSettings.ideogram.remixStrength" in first
    assert "between 1 and 100, got 150" in first and first.endswith("[invalidRemixStrength]")
    assert out.splitlines()[-1] == "1 payload checked: 0 valid, 1 invalid (1 error)"


def test_hint_is_printed(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.json", with_value("providerSettings.ideogram.remixStrenght", 1))
    code, out = run("validate", path)
    assert code == 1
    assert "(hint: rename it to providerSettings.ideogram.remixStrength)" in out


def test_truncated_file_exits_2_with_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(DOCS_EXAMPLE, indent=2)
    path = write(tmp_path, "cut.json", text[: text.index('"width"') + 3])
    code, out = run("validate", path)
    assert code == 2
    line = text[: text.index('"width"')].count("\n") + 1
    assert out.splitlines()[0].startswith(f"{path}:{line}:")
    assert "invalid JSON" in out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty input"),
        (b"   \n", "empty input"),
        (b"[NaN]", "1:2: error: NaN is not valid JSON"),
        (b'{"a": "NaN", "b":\n -Infinity}', "2:2: error: -Infinity is not valid JSON"),
        (b"[" * 100_000, "1:257: error: JSON nested deeper than 256 levels"),
        (b'{"x": "\xff"}', "1:8: error: not UTF-8: byte 0xff at offset 7"),
        (b"[" + b"1" * 5000 + b"]", "error: invalid JSON: Exceeds the limit"),
        (b"{'a': 1}", "1:2: error: invalid JSON: Expecting property name enclosed in double quotes"),
        (b'[{"taskType": "ping", "x": {"a": 1, "a": 2}}]', 'error: duplicate key "a" in one JSON object'),
        (b'[{"taskType": "ping", "x": 1e400}]', "error: the number 1e400 is too large for a JSON number"),
        (b"[-1.5E+999]", "error: the number -1.5E+999 is too large for a JSON number"),
    ],
)
def test_unreadable_stdin_exits_2(data: bytes, expected: str) -> None:
    code, out = run("validate", "-", stdin=data)
    assert code == 2
    assert expected in out.splitlines()[0]
    assert out.splitlines()[0].startswith("<stdin>")


def test_not_an_array_or_object_is_invalid_not_unreadable() -> None:
    code, out = run("validate", "-", stdin=b"42")
    assert code == 1
    assert "[invalidRequestBody]" in out


def test_stdin_valid_request() -> None:
    code, out = run("validate", "-", stdin=json.dumps([DOCS_EXAMPLE]).encode())
    assert (code, out.splitlines()[0]) == (0, "<stdin>: ok")


def test_missing_file_exits_2_and_worst_status_wins(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", DOCS_EXAMPLE)
    bad = write(tmp_path, "bad.json", with_value("width", 1))
    code, out = run("validate", good, bad, str(tmp_path / "nope.json"))
    assert code == 2
    assert f"{tmp_path / 'nope.json'}: error: No such file or directory" in out
    assert out.splitlines()[-1] == "3 payloads checked: 1 valid, 1 invalid (1 error), 1 unreadable"
    assert run("validate", good, bad)[0] == 1


def test_jsonl_reports_per_line(tmp_path: Path) -> None:
    lines = [json.dumps(DOCS_EXAMPLE), "", json.dumps(with_value("width", 1)), "{oops"]
    path = write(tmp_path, "many.jsonl", "\n".join(lines))
    code, out = run("validate", path)
    assert code == 2
    rows = out.splitlines()
    assert rows[0] == f"{path}:1: ok"
    assert rows[1].startswith(f"{path}:3: task 0")
    assert rows[2].startswith(f"{path}:4:2: error: invalid JSON")
    code, _ = run("validate", "--jsonl", "-", stdin=(json.dumps(DOCS_EXAMPLE) + "\n").encode())
    assert code == 0


def test_json_format(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", {**DOCS_EXAMPLE, "outputType": "jpeg"})
    cut = write(tmp_path, "cut.json", "[1,")
    code, out = run("validate", "--format", "json", bad, cut)
    assert code == 2
    report = json.loads(out)
    assert report["valid"] is False
    first, second = report["results"]
    assert (first["file"], first["valid"]) == (bad, False)
    [err] = first["errors"]
    assert err["code"] == "invalidOutputType" and err["parameter"] == "outputType"
    assert err["allowedValues"] == ["URL", "base64Data", "dataURI"] and err["taskIndex"] == 0
    assert second["readError"]["line"] == 1 and second["readError"]["column"] == 4
    error_schema = schemas.validator("error")
    for item in first["errors"]:
        error_schema.validate({k: v for k, v in item.items() if k != "taskIndex"})


def test_github_format(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad,file.json", with_value("providerSettings.ideogram.remixStrength", 150))
    cut = write(tmp_path, "cut.json", '{\n  "a": ')
    code, out = run("validate", "--format", "github", bad, cut)
    assert code == 2
    first, second = out.splitlines()
    escaped = bad.replace(",", "%2C")
    assert first.startswith(
        f"::error file={escaped},title=invalidRemixStrength providerSettings.ideogram.remixStrength::"
    )
    assert "between 1 and 100, got 150" in first
    assert second.startswith(f"::error file={cut},line=2,col=8,title=unreadable payload::invalid JSON")


def test_schema_prints_a_standalone_request_schema() -> None:
    code, out = run("schema")
    assert code == 0
    doc = json.loads(out)
    assert doc["$id"] == schemas.uri("request")
    # no registry given: every $ref resolves inside the printed document
    validator = Draft202012Validator(doc)
    assert validator.is_valid([DOCS_EXAMPLE])
    assert not validator.is_valid([with_value("providerSettings.ideogram.remixStrength", 150)])
    assert not validator.is_valid([{**DOCS_EXAMPLE, "width": 1000}])


def test_schema_raw_and_list() -> None:
    code, out = run("schema", "image-inference", "--raw")
    assert code == 0 and json.loads(out) == schemas.load("image-inference")
    code, out = run("schema", "--list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list(schemas.DOCUMENTS)


def test_console_script_and_usage_errors() -> None:
    exe = Path(sys.executable).with_name("ideogram-kit")
    done = subprocess.run([exe, "validate", str(ROOT / "examples" / "docs-example.json")], capture_output=True)
    assert (done.returncode, done.stderr) == (0, b"")
    done = subprocess.run([exe, "validate"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage: ideogram-kit validate" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([exe, "validate", "-"], input=b"[NaN", capture_output=True)
    assert done.returncode == 2 and b"Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--port", "0", "serve"], "unrecognized arguments: --port (options go after the COMMAND"),
        ([], "a COMMAND is required (validate, schema, generate, serve or contract"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["validate", "--bogus", "x.json"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_name_what_is_wrong(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_warnings_are_shown_and_strict_makes_them_fail(tmp_path: Path) -> None:
    deprecated = write(tmp_path, "nsfw.json", {**DOCS_EXAMPLE, "checkNSFW": False})
    ignored = write(tmp_path, "ttl.json", {**DOCS_EXAMPLE, "ttl": 120, "outputType": "base64Data"})
    code, out = run("validate", deprecated, ignored)
    assert code == 0
    lines = out.splitlines()
    assert any("warning: checkNSFW: 'checkNSFW' is deprecated" in line and "[deprecatedParameter]" in line
               for line in lines)  # fmt: skip
    assert any("warning: ttl:" in line and "[ineffectiveParameter]" in line for line in lines)
    assert lines[-1] == "2 payloads checked: 2 valid; 2 warnings"
    code, out = run("validate", "--strict", deprecated, ignored)
    assert code == 1
    assert out.splitlines()[-1] == "2 payloads checked: 0 valid, 2 invalid (2 warnings, --strict)"
    code, out = run("validate", "--format", "github", deprecated)
    assert code == 0 and out.startswith(f"::warning file={deprecated},title=deprecatedParameter checkNSFW::")
