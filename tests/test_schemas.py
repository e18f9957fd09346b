"""The bundled schema documents: well-formed, complete against the doc, shipped in the wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import ideogram_kit
from ideogram_kit import SchemaError, schemas
from ideogram_kit.codes import runware_code

ROOT = Path(__file__).resolve().parent.parent

# name: default, from the model page
DOC_DEFAULTS = {
    "outputType": "URL",
    "outputFormat": "JPG",
    "outputQuality": 95,
    "deliveryMethod": "sync",
    "safety.checkContent": False,
    "safety.mode": "none",
    "includeCost": False,
    "numberResults": 1,
    "providerSettings.ideogram.magicPrompt": "AUTO",
    "providerSettings.ideogram.remixStrength": 50,
    "providerSettings.ideogram.renderingSpeed": "DEFAULT",
    "providerSettings.ideogram.styleType": "AUTO",
}
DOC_PARAMETERS = {
    "taskType", "taskUUID", "outputType", "outputFormat", "outputQuality", "webhookURL", "deliveryMethod",
    "uploadEndpoint", "safety", "safety.checkContent", "safety.mode", "ttl", "includeCost", "numberResults",
    "inputs", "inputs.referenceImages", "model", "positivePrompt", "negativePrompt", "width", "height",
    "providerSettings", "providerSettings.ideogram", "providerSettings.ideogram.magicPrompt",
    "providerSettings.ideogram.remixStrength", "providerSettings.ideogram.renderingSpeed",
    "providerSettings.ideogram.styleReferenceImages", "providerSettings.ideogram.styleType",
}  # fmt: skip


@pytest.mark.parametrize("name", list(schemas.DOCUMENTS))
def test_documents_are_2020_12_schemas_with_ids(name: str) -> None:
    doc = schemas.load(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == schemas.uri(name) == schemas.BASE_URI + schemas.DOCUMENTS[name]
    assert doc.get("title") and doc.get("description")


def test_every_parameter_of_the_doc_and_no_other() -> None:
    assert set(schemas.task_parameters()) == DOC_PARAMETERS


@pytest.mark.parametrize("path", sorted(DOC_PARAMETERS))
def test_every_parameter_has_a_one_line_description(path: str) -> None:
    description = schemas.parameter_schema(path)["description"]
    assert description and "\n" not in description and len(description) <= 120


@pytest.mark.parametrize(("path", "default"), DOC_DEFAULTS.items())
def test_defaults_match_the_doc(path: str, default: object) -> None:
    assert schemas.parameter_schema(path)["default"] == default


def test_objects_the_doc_lists_completely_are_closed() -> None:
    for path in ("", "safety", "inputs", "providerSettings", "providerSettings.ideogram"):
        schema = schemas.load("image-inference") if not path else schemas.parameter_schema(path)
        assert schema["additionalProperties"] is False, path


def test_examples_in_schemas_are_valid() -> None:
    for example in schemas.load("image-inference")["examples"]:
        assert ideogram_kit.validate(example) == []
    assert (
        json.loads((ROOT / "examples" / "docs-example.json").read_text())
        == schemas.load("image-inference")["examples"][0]
    )


def test_unknown_document_and_parameter_raise_schema_error() -> None:
    with pytest.raises(SchemaError, match="no schema document called 'nope'"):
        schemas.load("nope")
    with pytest.raises(SchemaError, match="no parameter 'seed'"):
        schemas.parameter_schema("seed")


def test_catalogue_codes_are_camel_case_with_statuses() -> None:
    codes = ideogram_kit.ERROR_CODES
    assert len(codes) >= 20
    for name, code in codes.items():
        assert name == code.name and name[0].islower() and name.isalnum()
        assert code.http_status in (400, 401, 404, 405, 413, 415, 429, 431, 500, 504)
        assert code.description.endswith(".")
    for required in ("invalidApiKey", "missingApiKey", "conflictTaskUUID", "timeoutProvider"):
        assert required in codes  # Runware's own names


_PER_PARAMETER = {"invalidValue": "A value of '", "missingParameter": "The required parameter '"}


def catalogue_markdown() -> tuple[str, str]:
    """The README's two catalogue tables, from the schema: the codes with a meaning of their own (code,
    HTTP status, evidence, meaning), then the per-parameter codes, one row per parameter.

    A per-parameter entry is told by its description (``A value of 'width' is wrong...``, ``The required
    parameter 'width' is absent...``); its name must be the one Runware's rule gives that parameter
    (``codes.runware_code``) and its status 400, which the compact table states once instead of per row.
    """
    own = ["| code | HTTP | evidence | meaning |", "| --- | --- | --- | --- |"]
    by_parameter: dict[str, dict[str, str]] = {}
    for c in ideogram_kit.ERROR_CODES.values():
        for kind, lead in _PER_PARAMETER.items():
            if c.description.startswith(lead):
                parameter = c.description[len(lead) :].partition("'")[0]
                assert (c.name, c.http_status) == (runware_code(kind, parameter), 400), c
                by_parameter.setdefault(parameter, {})[kind] = f"`{c.name}` ({c.evidence})"
                break
        else:
            own.append(f"| `{c.name}` | {c.http_status} | {c.evidence} | {c.description} |")
    per = ["| parameter | a wrong value | missing |", "| --- | --- | --- |"]
    per += [
        f"| `{p}` | {k.get('invalidValue', '—')} | {k.get('missingParameter', '—')} |" for p, k in by_parameter.items()
    ]
    return "\n".join(own), "\n".join(per)


def test_readme_catalogue_is_the_schema_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, table in zip(("catalogue", "per-parameter"), catalogue_markdown(), strict=True):
        start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
        shown = readme[readme.index(start) + len(start) : readme.index(end)]
        assert shown == table, f"README's {name} table is stale; paste:\n{table}"


def test_wheel_ships_the_schemas_and_py_typed(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("ideogram_remix_kit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for filename in schemas.DOCUMENTS.values():
        assert f"ideogram_kit/schema/{filename}" in names
    assert "ideogram_kit/py.typed" in names
    # the unpacked wheel alone (no repo on the path) loads its schemas via importlib.resources
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "import ideogram_kit, json, sys; json.dump(ideogram_kit.validate(json.load(sys.stdin)), sys.stdout)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
        input=(ROOT / "examples" / "docs-example.json").read_text(),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "[]", "")
