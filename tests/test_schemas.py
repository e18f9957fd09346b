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


def catalogue_markdown() -> str:
    rows = ["| code | HTTP | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{c.name}` | {c.http_status} | {c.description} |" for c in ideogram_kit.ERROR_CODES.values()]
    return "\n".join(rows)


def test_readme_catalogue_is_the_schema_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- catalogue:start -->\n", "\n<!-- catalogue:end -->"
    assert readme[readme.index(start) + len(start) : readme.index(end)] == catalogue_markdown(), (
        "README's error-code table is stale; paste:\n" + catalogue_markdown()
    )


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
