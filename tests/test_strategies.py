"""The hypothesis strategies: oracle property, coverage, shrinking, overrides, typed model."""

from __future__ import annotations

import base64
import importlib.metadata
import io
import json
import re
import runpy
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from PIL import Image

import ideogram_kit
from ideogram_kit import schemas, strategies
from ideogram_kit.strategies import InvalidCase, invalid_tasks, requests, responses, sample, valid_tasks
from ideogram_kit.types import IdeogramSettings, ImageInferenceTask, Inputs, ProviderSettings, Safety

TASK = schemas.load("image-inference")
PARAMS = schemas.task_parameters()
DEFS = schemas.load("common")["$defs"]


def labels(payload: Any) -> list[tuple[str, str | None]]:
    return [(e.code, e.parameter) for e in ideogram_kit.validate(payload)]


def kinds(payload: Any) -> list[tuple[str, str | None]]:
    return [(e.kind, e.parameter) for e in ideogram_kit.validate(payload)]


def flatten(obj: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in obj.items():
        yield prefix + key, value
        if isinstance(value, dict):
            yield from flatten(value, prefix + key + ".")


# -- the oracle property ------------------------------------------------------------------------


@given(valid_tasks())
def test_every_valid_task_passes_the_validator(task: dict[str, Any]) -> None:
    result = ideogram_kit.validate(task)
    assert result == [] and result.warnings == ()  # valid tasks keep to the model page: no warnings either


@given(invalid_tasks())
def test_every_invalid_case_fails_with_exactly_its_label(case: InvalidCase) -> None:
    assert labels(case.payload) == [(case.code, case.parameter)], case.reason
    assert kinds(case.payload) == [(case.kind, case.parameter)], case.reason


def test_every_mutation_is_labelled_right() -> None:
    """Each (kind, parameter) rule, drawn directly, so none depends on luck to be exercised."""
    for mutation in strategies._MUTATIONS:
        cases = sample(strategies._invalid_case((mutation,)), 4, seed=7)
        for case in cases:
            assert case.code == mutation.code
            assert labels(case.payload) == [(case.code, case.parameter)], (mutation, case)


def test_the_mistakes_cover_the_catalogue_rules() -> None:
    found = {(m.kind, m.error_kind) for m in strategies._MUTATIONS}
    expected = {
        ("missing", "missingParameter"),
        ("type", "invalidType"),
        ("item-type", "invalidType"),
        ("below", "outOfRange"),
        ("above", "outOfRange"),
        ("enum", "invalidValue"),
        ("enum", "unsupportedModel"),
        ("enum", "unknownTaskType"),
        ("size", "unsupportedDimensions"),
        ("item-format", "invalidFormat"),  # bad image reference
        ("format", "invalidFormat"),  # bad URI / UUID
        ("few", "invalidLength"),
        ("many", "invalidLength"),
        ("long", "invalidLength"),
        ("short", "invalidLength"),
        ("unknown", "unknownParameter"),
    }
    assert expected <= found
    assert {m.code for m in strategies._MUTATIONS} <= set(ideogram_kit.ERROR_CODES)
    targets = {(m.kind, m.target) for m in strategies._MUTATIONS}
    for path in TASK["required"]:
        assert ("missing", path) in targets
    for path, schema in PARAMS.items():
        if "minimum" in schema:
            assert ("below", path) in targets
        if "maximum" in schema:
            assert ("above", path) in targets
        if "enum" in schema:
            assert ("enum", path) in targets
    assert {m.target for m in strategies._MUTATIONS if m.kind == "unknown"} == {
        "",
        *(p for p, s in PARAMS.items() if s.get("type") == "object"),
    }


# -- coverage -----------------------------------------------------------------------------------


def image_form(ref: str) -> str:
    for name in ("uuid", "imageDataUri", "httpUrl", "base64"):
        if re.search(DEFS[name]["pattern"], ref):
            return name
    raise AssertionError(f"not an image reference: {ref!r}")


def test_a_bounded_run_reaches_every_value() -> None:
    tasks = sample(valid_tasks(), 1000, seed=0)
    seen: dict[str, set[Any]] = defaultdict(set)
    present: Counter[str] = Counter()
    forms: set[str] = set()
    for task in tasks:
        for path, value in flatten(task):
            present[path] += 1
            if isinstance(value, list):
                forms.update(image_form(ref) for ref in value)
            elif not isinstance(value, dict):
                seen[path].add(value)
    assert {(t["width"], t["height"]) for t in tasks} == set(schemas.allowed_sizes())
    assert forms == {"uuid", "httpUrl", "imageDataUri", "base64"}
    for path, schema in PARAMS.items():
        for value in schema.get("x-modelPageEnum", schema.get("enum", ())):  # values that only warn: not made
            assert value in seen[path], (path, value)
        for bound in ("minimum", "maximum"):
            if bound in schema:
                assert schema[bound] in seen[path], (path, bound)
        if "maxLength" in schema:
            assert any(len(v) == schema["maxLength"] for v in seen[path]), path
        assert (present[path] > 0) != bool(schema.get("deprecated")), path  # deprecated ones only when asked
        if path not in TASK["required"] and path != "inputs.referenceImages":
            assert present[path] < len(tasks), f"{path} is never absent"
    assert any(not p.isascii() for p in seen["positivePrompt"])


def test_image_references_carry_real_images() -> None:
    formats = set()
    for ref in sample(strategies.image_references(), 80, seed=3):
        if ref.startswith("data:"):
            header, _, data = ref.partition(",")
            raw = base64.b64decode(data, validate=True)
            with Image.open(io.BytesIO(raw)) as image:
                assert header == f"data:{Image.MIME[image.format]};base64"
                formats.add(image.format)
        elif image_form(ref) == "base64":
            with Image.open(io.BytesIO(base64.b64decode(ref, validate=True))) as image:
                formats.add(image.format)
    assert formats == {"PNG", "JPEG", "WEBP"}


# -- shrinking ----------------------------------------------------------------------------------


def test_shrinking_keeps_the_case_invalid_for_its_reason() -> None:
    seen: list[InvalidCase] = []

    def failing(case: InvalidCase) -> bool:
        seen.append(case)
        return case.parameter.startswith("providerSettings")

    minimal = find(invalid_tasks(kind="outOfRange"), failing, settings=settings(database=None, max_examples=500))
    assert kinds(minimal.payload) == [("outOfRange", "providerSettings.ideogram.remixStrength")]
    assert minimal.payload["providerSettings"] == {"ideogram": {"remixStrength": 0}}  # the bound, minus one
    # every example hypothesis tried on the way is still labelled right
    assert len(seen) > 50
    for case in seen[:: len(seen) // 50]:
        assert labels(case.payload) == [(case.code, case.parameter)], case


def test_a_failing_property_reports_a_still_invalid_case() -> None:
    falsifying: list[InvalidCase] = []

    @settings(database=None, max_examples=300, phases=[Phase.generate, Phase.shrink], derandomize=True)
    @given(invalid_tasks())
    def handler_never_sees_a_bad_prompt(case: InvalidCase) -> None:
        falsifying.append(case)
        assert case.parameter != "positivePrompt"

    with pytest.raises(AssertionError):
        handler_never_sees_a_bad_prompt()
    last = falsifying[-1]  # hypothesis replays the minimal example last
    assert last.parameter == "positivePrompt"
    assert labels(last.payload) == [(last.code, "positivePrompt")]


# -- overrides and filters ----------------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(
    valid_tasks(
        outputType="base64Data",
        numberResults=st.integers(2, 3),
        **{"providerSettings.ideogram.styleType": "ANIME"},
    )
)
def test_overrides_pin_or_draw_fields(task: dict[str, Any]) -> None:
    assert task["outputType"] == "base64Data"
    assert "ttl" not in task
    assert task["numberResults"] in (2, 3)
    assert task["providerSettings"]["ideogram"]["styleType"] == "ANIME"
    assert ideogram_kit.validate(task) == []


def test_pinned_ttl_keeps_the_output_type_compatible() -> None:
    for task in sample(valid_tasks(ttl=3600), 40, seed=1):
        assert task["ttl"] == 3600
        assert task.get("outputType", "URL") == "URL"
        assert ideogram_kit.validate(task) == []


def test_pinned_width_limits_the_pairs() -> None:
    pairs = {(t["width"], t["height"]) for t in sample(valid_tasks(width=1024), 60, seed=2)}
    assert pairs == {(w, h) for w, h in schemas.allowed_sizes() if w == 1024}
    tasks = sample(valid_tasks(width=st.sampled_from([512, 1536])), 30, seed=2)
    assert {(t["width"], t["height"]) for t in tasks} <= {(512, 1536), (1536, 512)}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outputQuality": 150}, "is not a valid value"),
        ({"colour": "red"}, "unknown parameter 'colour'"),
        ({"width": 1000}, "no allowed size"),
        ({"width": "1024"}, "must be an int"),
    ],
)
def test_bad_overrides_are_refused_at_once(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        valid_tasks(**overrides)


def test_pinning_what_only_warns_gives_valid_tasks_with_that_warning() -> None:
    for task in sample(valid_tasks(ttl=120, outputType="dataURI"), 10, seed=3):
        result = ideogram_kit.validate(task)
        assert (task["ttl"], task["outputType"]) == (120, "dataURI")
        assert result == [] and [w.code for w in result.warnings] == ["ineffectiveParameter"]
    for task in sample(valid_tasks(checkNSFW=False), 10, seed=3):
        assert task["checkNSFW"] is False and [w.code for w in ideogram_kit.validate(task).warnings] == [
            "deprecatedParameter"
        ]


def test_invalid_tasks_filters_by_parameter_and_code() -> None:
    for case in sample(invalid_tasks(parameter="ttl"), 30, seed=4):
        assert case.parameter == "ttl"
        assert labels(case.payload) == [(case.code, "ttl")]
    for case in sample(invalid_tasks(kind="invalidLength"), 30, seed=4):
        assert case.kind == "invalidLength"
        assert kinds(case.payload) == [("invalidLength", case.parameter)]
    for case in sample(invalid_tasks(code="invalidRemixStrength"), 20, seed=4):
        assert (case.code, case.parameter) == ("invalidRemixStrength", "providerSettings.ideogram.remixStrength")
    with pytest.raises(InvalidArgument, match="matches no mistake"):
        invalid_tasks(parameter="ttl", code="invalidModel")


def test_invalid_case_serialises_with_its_label() -> None:
    case = sample(invalid_tasks(parameter="model"), 1, seed=0)[0]
    assert json.loads(json.dumps(case.to_dict())) == {
        "payload": case.payload,
        "parameter": "model",
        "code": case.code,
        "kind": case.kind,
        "reason": case.reason,
    }


# -- requests and responses ---------------------------------------------------------------------


@given(requests())
def test_requests_are_valid_arrays(body: list[dict[str, Any]]) -> None:
    assert ideogram_kit.validate(body) == []
    uuids = [t["taskUUID"].lower() for t in body if t["taskType"] == "imageInference"]
    assert len(uuids) == len(set(uuids))
    kinds = [t["taskType"] for t in body]
    assert "authentication" not in kinds[1:]


def test_requests_mix_task_types() -> None:
    kinds = {t["taskType"] for body in sample(requests(), 40, seed=5) for t in body}
    assert kinds == set(schemas.load("request")["$defs"]["task"]["properties"]["taskType"]["enum"])


@given(responses())
def test_responses_match_the_response_schema(envelope: dict[str, Any]) -> None:
    errors = [e.message for e in schemas.validator("response").iter_errors(envelope)]
    assert errors == []


def shape(envelope: dict[str, Any]) -> set[str]:
    found = {"errors"} if "errors" in envelope else set()
    for item in envelope.get("data", []):
        if "imageUUID" in item:
            found.add(item.get("status", "result"))
        elif item["taskType"] == "imageInference":
            found.add(item.get("status", "ack"))
        else:
            found.add(item["taskType"])
    return found


@pytest.mark.parametrize(
    ("kind", "shapes"),
    [
        ("sync", {"result"}),
        ("frame", {"result"}),
        ("ack", {"ack", "processing"}),
        ("poll", {"success", "processing"}),
        ("errors", {"errors"}),
        ("pong", {"ping"}),
        ("authentication", {"authentication"}),
    ],
)
def test_responses_of_each_kind(kind: str, shapes: set[str]) -> None:
    envelopes = sample(responses(kinds=[kind]), 12, seed=6)
    found = set().union(*map(shape, envelopes))
    assert found == shapes
    validator = schemas.validator("response")
    assert [e.message for env in envelopes for e in validator.iter_errors(env)] == []
    with pytest.raises(InvalidArgument, match="takes some of"):
        responses(kinds=["telepathy"])


@given(st.data())
def test_responses_follow_the_task(data: st.DataObject) -> None:
    task = data.draw(valid_tasks(deliveryMethod="sync"))
    envelope = data.draw(responses(task))
    results = [i for i in envelope.get("data", []) if "imageUUID" in i]
    field = {"URL": "imageURL", "base64Data": "imageBase64Data", "dataURI": "imageDataURI"}
    for item in results:
        assert item["taskUUID"] == task["taskUUID"]
        assert field[task.get("outputType", "URL")] in item
        assert ("cost" in item) == bool(task.get("includeCost"))
    count = task.get("numberResults", 1)
    if any("status" in item for item in results):  # a poll: finished items so far, then a marker
        assert len(results) == count or envelope["data"][-1] == {
            "taskType": "imageInference", "taskUUID": task["taskUUID"], "status": "processing"
        }  # fmt: skip
    else:  # a sync answer has them all, a frame one; the other kinds carry no image
        assert len(results) in (1, count) or not any("imageUUID" in i for i in envelope.get("data", []))


@pytest.mark.parametrize(("kind", "images"), [("sync", "all"), ("frame", 1), ("ack", 0), ("pong", 0)])
def test_each_response_kind_carries_its_images(kind: str, images: int | str) -> None:
    for task in sample(valid_tasks(), 10, seed=8):
        (envelope,) = sample(responses(task, kinds=[kind]), 1, seed=9)
        found = [i for i in envelope["data"] if "imageUUID" in i]
        assert len(found) == (task.get("numberResults", 1) if images == "all" else images), (kind, envelope)


# -- typed model, entry point, reproducible sampling --------------------------------------------


@pytest.mark.parametrize(
    ("typed", "path"),
    [(ImageInferenceTask, ""), (Inputs, "inputs"), (Safety, "safety"), (ProviderSettings, "providerSettings"),
     (IdeogramSettings, "providerSettings.ideogram")],
)  # fmt: skip
def test_typed_dicts_match_the_schema(typed: Any, path: str) -> None:
    schema = TASK if not path else PARAMS[path]
    assert set(typed.__annotations__) | set(getattr(typed, "__required_keys__", ())) == set(schema["properties"])
    assert typed.__required_keys__ == frozenset(schema.get("required", ()))


@given(st.from_type(ImageInferenceTask))
def test_from_type_draws_valid_tasks(task: ImageInferenceTask) -> None:
    assert ideogram_kit.validate(dict(task)) == []


def test_the_hypothesis_entry_point_registers_the_type() -> None:
    hooks = [e for e in importlib.metadata.entry_points(group="hypothesis") if e.value.startswith("ideogram_kit")]
    assert [h.value for h in hooks] == ["ideogram_kit.hypothesis_hook:setup"]
    hooks[0].load()()  # what hypothesis does at import
    assert ideogram_kit.validate(dict(sample(st.from_type(ImageInferenceTask), 1, seed=0)[0])) == []


def test_sample_is_reproducible() -> None:
    assert sample(valid_tasks(), 25, seed=11) == sample(valid_tasks(), 25, seed=11)
    assert sample(valid_tasks(), 25, seed=11) != sample(valid_tasks(), 25, seed=12)
    assert len(sample(invalid_tasks(), 7, seed=1)) == 7
    with pytest.raises(ValueError, match="positive"):
        sample(valid_tasks(), 0, seed=1)


# -- the README example -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "strategies_example.py"


def test_the_example_file_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert capsys.readouterr().out == "all properties hold\n"
