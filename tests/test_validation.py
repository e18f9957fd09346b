"""The validator against the model doc, read independently of schema/.

Every expectation below is typed in from ../shared/spec/ideogram-1-remix-model-doc.txt and
runware-protocol.md by hand, so a transcription mistake in the schema shows up here.
"""

from __future__ import annotations

import copy
import string
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ideogram_kit
from ideogram_kit import (
    InvalidPayload,
    PayloadAssertionError,
    TaskError,
    assert_valid_payload,
    check,
    is_valid,
    schemas,
    validate,
)

DOCS_EXAMPLE: dict[str, Any] = {
    "taskType": "imageInference",
    "taskUUID": "6ba7b824-9dad-41d1-80b4-00c04fd430c8",
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D", "magicPrompt": "ON"}},
}

SIZES = [
    (1024, 1024), (768, 1232), (1232, 768), (720, 1280), (1280, 720), (1152, 768),
    (832, 1248), (1024, 768), (768, 1024), (512, 1536), (1536, 512),
]  # fmt: skip

RANGES = [  # (path, min, max or None)
    ("outputQuality", 20, 99),
    ("numberResults", 1, 20),
    ("ttl", 60, None),
    ("providerSettings.ideogram.remixStrength", 1, 100),
]
LENGTHS = [("positivePrompt", 1, 2000), ("negativePrompt", 1, 2000)]
ENUMS = [
    ("outputType", ["URL", "base64Data", "dataURI"]),
    ("outputFormat", ["JPG", "PNG", "WEBP"]),
    ("deliveryMethod", ["sync", "async"]),
    ("safety.mode", ["none", "fast"]),
    ("providerSettings.ideogram.magicPrompt", ["AUTO", "ON", "OFF"]),
    ("providerSettings.ideogram.renderingSpeed", ["TURBO", "DEFAULT", "QUALITY"]),
    (
        "providerSettings.ideogram.styleType",
        ["AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME", "FICTION"],
    ),
]
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
IMAGE_REFS = [
    "c64351d5-4c59-42f7-95e1-eace013eddab",
    "https://example.com/images/base.png?sig=abc",
    "http://127.0.0.1:8000/in.jpg",
    "data:image/png;base64," + PNG_1PX,
    PNG_1PX,
]
BAD_IMAGE_REFS = ["not an image", "ftp://example.com/a.png", "data:text/plain;base64,aGVsbG8=", "abc", "c64351d5-4c59"]


def with_value(path: str, value: Any, task: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``task`` (default: the docs example) with ``path`` set to ``value``."""
    out = copy.deepcopy(task if task is not None else DOCS_EXAMPLE)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return out


def without(path: str) -> dict[str, Any]:
    out = copy.deepcopy(DOCS_EXAMPLE)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    del node[leaf]
    return out


def only_error(payload: Any) -> TaskError:
    errors = validate(payload)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_docs_example_is_valid() -> None:
    assert validate(DOCS_EXAMPLE) == []
    assert validate([DOCS_EXAMPLE]) == []
    assert is_valid(DOCS_EXAMPLE)
    check(DOCS_EXAMPLE)


@pytest.mark.parametrize(("path", "low", "high"), RANGES)
def test_numeric_bounds(path: str, low: int, high: int | None) -> None:
    assert is_valid(with_value(path, low))
    err = only_error(with_value(path, low - 1))
    assert (err.kind, err.parameter, err.min, err.value) == ("outOfRange", path, low, low - 1)
    if high is None:
        assert is_valid(with_value(path, 10**9))
        return
    assert is_valid(with_value(path, high))
    err = only_error(with_value(path, high + 1))
    assert (err.kind, err.parameter, err.min, err.max, err.value) == ("outOfRange", path, low, high, high + 1)
    assert f"between {low} and {high}" in err.message and str(high + 1) in err.message


@pytest.mark.parametrize(("path", "low", "high"), LENGTHS)
def test_prompt_lengths(path: str, low: int, high: int) -> None:
    assert is_valid(with_value(path, "x" * low))
    assert is_valid(with_value(path, "é" * high))  # code points, not bytes
    for bad in ("", "x" * (high + 1)):
        err = only_error(with_value(path, bad))
        assert (err.kind, err.parameter, err.min, err.max) == ("invalidLength", path, low, high)


@pytest.mark.parametrize(("path", "values"), ENUMS)
def test_every_enum_value_and_a_wrong_one(path: str, values: list[str]) -> None:
    for value in values:
        assert is_valid(with_value(path, value)), value
    err = only_error(with_value(path, values[0] + "X"))
    assert err.kind == "invalidValue"
    assert err.parameter == path
    assert list(err.allowed_values or ()) == schemas.parameter_schema(path)["enum"]  # general reference's values too


def test_enum_did_you_mean_ignores_case() -> None:
    err = only_error(with_value("providerSettings.ideogram.styleType", "anime"))
    assert err.suggestion == "ANIME"
    assert "Did you mean 'ANIME'?" in err.message


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_allowed_size(width: int, height: int) -> None:
    assert is_valid({**DOCS_EXAMPLE, "width": width, "height": height})


@pytest.mark.parametrize(("width", "height"), [(w, h) for w, h in SIZES if (h, w) not in SIZES])
def test_swapped_sizes_are_rejected_once(width: int, height: int) -> None:
    err = only_error({**DOCS_EXAMPLE, "width": height, "height": width})
    assert err.kind == "unsupportedDimensions"
    assert sorted(err.allowed_sizes or ()) == sorted(SIZES)


@pytest.mark.parametrize(
    ("width", "height", "parameter"),
    [(1000, 1000, "width"), (1024, 1000, "height"), (512, 512, "height"), (2048, 2048, "width"), (0, 1024, "width")],
)
def test_unsupported_size_names_the_parameter(width: int, height: int, parameter: str) -> None:
    err = only_error({**DOCS_EXAMPLE, "width": width, "height": height})
    assert (err.kind, err.parameter) == ("unsupportedDimensions", parameter)
    assert "1024x1024" in (err.hint or "")


@pytest.mark.parametrize("width", ["1024", [1024], {"w": 1024}, True, None, 1024.5])
def test_size_of_wrong_type_is_one_type_error(width: Any) -> None:
    err = only_error({**DOCS_EXAMPLE, "width": width})
    assert (err.kind, err.parameter, err.type) == ("invalidType", "width", "integer")
    err = only_error({**DOCS_EXAMPLE, "height": width})
    assert (err.kind, err.parameter, err.type) == ("invalidType", "height", "integer")


@pytest.mark.parametrize("ref", IMAGE_REFS)
def test_image_reference_forms(ref: str) -> None:
    assert is_valid(with_value("inputs.referenceImages", [ref]))
    assert is_valid(with_value("providerSettings.ideogram.styleReferenceImages", [ref, ref]))


@pytest.mark.parametrize("ref", BAD_IMAGE_REFS)
def test_broken_image_reference_is_one_format_error(ref: str) -> None:
    err = only_error(with_value("inputs.referenceImages", [ref]))
    assert (err.kind, err.parameter) == ("invalidFormat", "inputs.referenceImages[0]")
    assert "image reference" in err.message


@pytest.mark.parametrize(
    ("path", "low", "high"),
    [("inputs.referenceImages", 1, 1), ("providerSettings.ideogram.styleReferenceImages", 1, 4)],
)
def test_image_counts(path: str, low: int, high: int) -> None:
    ref = IMAGE_REFS[0]
    assert is_valid(with_value(path, [ref] * high))
    for count in (low - 1, high + 1):
        err = only_error(with_value(path, [ref] * count))
        assert (err.kind, err.parameter, err.min, err.max) == ("invalidLength", path, low, high)


@pytest.mark.parametrize("path", ["taskType", "taskUUID", "model", "positivePrompt", "width", "height", "inputs"])
def test_required_parameters(path: str) -> None:
    err = only_error(without(path))
    assert (err.kind, err.parameter) == ("missingParameter", path)


def test_reference_images_required_inside_inputs() -> None:
    err = only_error(with_value("inputs", {}))
    assert (err.kind, err.parameter) == ("missingParameter", "inputs.referenceImages")


@pytest.mark.parametrize(
    "value", ["6ba7b824-9dad-11d1-80b4-00c04fd430c8", "6ba7b824-9dad-41d1-c0b4-00c04fd430c8", "not-a-uuid", ""]
)
def test_task_uuid_must_be_v4(value: str) -> None:
    err = only_error(with_value("taskUUID", value))
    assert (err.kind, err.parameter) == ("invalidFormat", "taskUUID")
    assert "UUID v4" in err.message


@pytest.mark.parametrize("path", ["webhookURL", "uploadEndpoint"])
def test_outbound_urls(path: str) -> None:
    assert is_valid(with_value(path, "https://hooks.example.com/runware?token=abc"))
    assert is_valid(with_value(path, "http://127.0.0.1:9000/hook"))
    for bad in ("ftp://example.com/x", "/relative/path", "https://", "example.com/hook", "https://exa mple.com"):
        err = only_error(with_value(path, bad))
        assert (err.kind, err.parameter) == ("invalidFormat", path), bad


def test_model_must_be_remix() -> None:
    err = only_error(with_value("model", "ideogram:1@1"))
    assert (err.kind, err.parameter, err.allowed_values) == ("unsupportedModel", "model", ("ideogram:1@2",))


def test_ttl_without_url_output_is_accepted_with_a_warning() -> None:
    # Runware's docs: ttl "only takes effect" with URL output, the wording of an ignored setting, not an error
    for ok in (with_value("ttl", 60), {**DOCS_EXAMPLE, "ttl": 60, "outputType": "URL"}):
        result = validate(ok)
        assert result == [] and result.warnings == ()
    for output in ("base64Data", "dataURI"):
        result = validate({**DOCS_EXAMPLE, "ttl": 60, "outputType": output})
        assert result == []
        (warning,) = result.warnings
        assert (warning.code, warning.parameter, warning.value, warning.severity) == (
            "ineffectiveParameter", "ttl", 60, "warning",
        )  # fmt: skip
        assert output in warning.message and "ignored" in warning.message


def test_ttl_too_small_without_url_output_is_one_error() -> None:
    result = validate({**DOCS_EXAMPLE, "ttl": 5, "outputType": "dataURI"})
    assert [(e.kind, e.code, e.parameter) for e in result] == [("outOfRange", "invalidTtl", "ttl")]
    assert result.warnings == ()  # an invalid task gets errors, not warnings


def test_bad_output_type_with_ttl_is_one_mistake() -> None:
    err = only_error({**DOCS_EXAMPLE, "ttl": 60, "outputType": "url"})
    assert (err.kind, err.parameter, err.suggestion) == ("invalidValue", "outputType", "URL")


@pytest.mark.parametrize(
    ("path", "value", "type_"),
    [
        ("safety.checkContent", "yes", "boolean"),
        ("includeCost", 1, "boolean"),
        ("numberResults", 2.5, "integer"),
        ("outputQuality", "high", "integer"),
        ("numberResults", True, "integer"),
        ("providerSettings.ideogram.remixStrength", "75", "integer"),
        ("positivePrompt", 42, "string"),
        ("safety", [], "object"),
        ("inputs.referenceImages", "c64351d5-4c59-42f7-95e1-eace013eddab", "string[]"),
        ("providerSettings", None, "object"),
    ],
)
def test_wrong_types(path: str, value: Any, type_: str) -> None:
    err = only_error(with_value(path, value))
    assert (err.kind, err.parameter, err.type) == ("invalidType", path, type_)


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (None, "got null."),
        (True, "got true."),
        ("75", 'got string "75".'),
        (2.5, "got number 2.5."),
        ({}, "got an empty object."),
    ],
)
def test_type_errors_name_what_was_sent_once(value: Any, got: str) -> None:
    err = only_error(with_value("providerSettings.ideogram.remixStrength", value))
    assert err.message == (
        f"Invalid value for 'remixStrength' parameter. It must be an integer value between 1 and 100, {got}"
    )


def test_integral_float_is_an_integer_as_json_schema_says() -> None:
    assert is_valid(with_value("numberResults", 2.0))


def test_unknown_keys_with_did_you_mean() -> None:
    err = only_error(with_value("providerSettings.ideogram.remixStrenght", 75))
    assert err.kind == "unknownParameter"
    assert err.parameter == "providerSettings.ideogram.remixStrenght"
    assert err.suggestion == "providerSettings.ideogram.remixStrength"
    assert "Did you mean 'providerSettings.ideogram.remixStrength'?" in err.message


def test_setting_at_the_wrong_level_points_to_its_place() -> None:
    err = only_error({**DOCS_EXAMPLE, "styleType": "ANIME"})
    assert (err.kind, err.parameter) == ("unknownParameter", "styleType")
    assert err.suggestion == "providerSettings.ideogram.styleType"
    assert err.hint == "move it to providerSettings.ideogram.styleType"


@pytest.mark.parametrize("path", ["inputs.maskImage", "safety.level", "providerSettings.openai", "seed"])
def test_closed_objects(path: str) -> None:
    err = only_error(with_value(path, 1))
    assert (err.kind, err.parameter) == ("unknownParameter", path)


def test_two_mistakes_give_two_errors() -> None:
    task = with_value("providerSettings.ideogram.remixStrength", 500)
    task["inputs"]["referenceImages"] = ["???"]
    errors = validate(task)
    assert sorted((e.kind, e.parameter) for e in errors) == [
        ("invalidFormat", "inputs.referenceImages[0]"),
        ("outOfRange", "providerSettings.ideogram.remixStrength"),
    ]


# -- requests ----------------------------------------------------------------------------------


def test_a_tuple_of_tasks_is_a_request() -> None:
    assert validate((DOCS_EXAMPLE,)) == []
    assert only_error((DOCS_EXAMPLE, DOCS_EXAMPLE)).kind == "conflictTaskUUID"


def test_request_with_every_task_type() -> None:
    request = [
        {"taskType": "authentication", "apiKey": "key"},
        {"taskType": "ping", "ping": True},
        DOCS_EXAMPLE,
        {"taskType": "getResponse", "taskUUID": DOCS_EXAMPLE["taskUUID"]},
    ]
    assert validate(request) == []


def test_errors_carry_task_index_uuid_and_type() -> None:
    second = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "numberResults": 0}
    err = only_error([DOCS_EXAMPLE, second])
    assert (err.task_index, err.task_uuid, err.task_type) == (1, second["taskUUID"], "imageInference")
    assert err.to_dict()["taskUUID"] == second["taskUUID"]


def test_duplicate_task_uuid_is_an_error_on_the_second_task() -> None:
    third = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}
    err = only_error([DOCS_EXAMPLE, third, {**DOCS_EXAMPLE}])
    assert (err.kind, err.parameter, err.task_index) == ("conflictTaskUUID", "taskUUID", 2)
    assert not is_valid([DOCS_EXAMPLE, DOCS_EXAMPLE])


def test_polling_the_same_task_twice_is_not_a_duplicate() -> None:
    poll = {"taskType": "getResponse", "taskUUID": DOCS_EXAMPLE["taskUUID"]}
    assert validate([DOCS_EXAMPLE, poll, poll]) == []


@pytest.mark.parametrize(
    ("payload", "code", "parameter"),
    [
        ([{"taskType": "pong"}], "unknownTaskType", "taskType"),
        ([{"taskType": 3}], "invalidType", "taskType"),
        ([{"apiKey": "x"}], "missingParameter", "taskType"),
        ([{"taskType": "authentication"}], "missingParameter", "apiKey"),
        ([{"taskType": "authentication", "apiKey": ""}], "invalidLength", "apiKey"),
        ([{"taskType": "getResponse", "taskUUID": "nope"}], "invalidFormat", "taskUUID"),
        ([[DOCS_EXAMPLE]], "invalidRequestBody", None),
        ([None], "invalidRequestBody", None),
        ([], "invalidRequestBody", None),
        ("[]", "invalidRequestBody", None),
        (42, "invalidRequestBody", None),
        (None, "invalidRequestBody", None),
    ],
)
def test_malformed_requests(payload: Any, code: str, parameter: str | None) -> None:
    err = only_error(payload)
    assert (err.kind, err.parameter) == (code, parameter)


def test_huge_and_odd_numbers_are_reported_not_raised() -> None:
    err = only_error(with_value("numberResults", 10**30))
    assert (err.kind, err.max) == ("outOfRange", 20)
    err = only_error(with_value("numberResults", float("inf")))
    assert err.kind in ("invalidType", "outOfRange")
    assert err.to_dict()["value"] == "inf"  # JSON-safe


def test_deeply_nested_unknown_value_does_not_recurse() -> None:
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    err = only_error(with_value("safety", {"extra": deep}))
    assert (err.kind, err.parameter) == ("unknownParameter", "safety.extra")
    assert err.to_dict()["value"] == "an array of 1 item"


def test_every_code_is_in_the_catalogue() -> None:
    bad = [
        without("width"),
        with_value("width", "x"),
        with_value("outputType", "x"),
        with_value("numberResults", 0),
        with_value("positivePrompt", ""),
        with_value("taskUUID", "x"),
        with_value("foo", 1),
        with_value("height", 1),
        with_value("model", "x"),
    ]
    codes = {e.code for payload in bad for e in validate(payload)}
    assert codes <= set(ideogram_kit.ERROR_CODES)
    assert len(codes) == len(bad)


# -- the raising forms ----------------------------------------------------------------------------


def test_check_raises_with_every_error() -> None:
    task = {**with_value("numberResults", 0), "width": 1}
    with pytest.raises(InvalidPayload) as info:
        check(task)
    assert {e.parameter for e in info.value.errors} == {"numberResults", "width"}
    assert "2 validation errors" in str(info.value)
    assert "numberResults" in str(info.value) and "[invalidNumberResults]" in str(info.value)
    assert not isinstance(info.value, AssertionError)


def test_assert_valid_payload_is_an_assertion_error() -> None:
    assert_valid_payload(DOCS_EXAMPLE)
    with pytest.raises(PayloadAssertionError) as info:
        assert_valid_payload(with_value("providerSettings.ideogram.remixStrength", 500))
    assert isinstance(info.value, AssertionError)
    assert "providerSettings.ideogram.remixStrength" in str(info.value)
    assert "between 1 and 100, got 500" in str(info.value)


def test_error_items_validate_against_the_error_schema() -> None:
    from ideogram_kit import schemas

    payloads = [with_value("x", 1), {**DOCS_EXAMPLE, "width": 5}, with_value("outputType", "x"), 7, []]
    for payload in payloads:
        for err in validate(payload):
            schemas.validator("error").validate(err.to_dict())


# -- property: tasks built from the doc, not from the schema ----------------------------------------

ref_strategy = st.one_of(
    st.uuids().map(str),
    st.builds(
        lambda host, path: f"https://{host}.example.com/{path}",
        st.text(string.ascii_lowercase, min_size=1, max_size=10),
        st.text(string.ascii_letters + string.digits + "/-_.", max_size=20),
    ),
    st.sampled_from(["data:image/png;base64," + PNG_1PX, PNG_1PX]),
)
prompt = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=2000)


@st.composite
def doc_tasks(draw: st.DrawFn) -> dict[str, Any]:
    width, height = draw(st.sampled_from(SIZES))
    task: dict[str, Any] = {
        "taskType": "imageInference",
        "taskUUID": str(draw(st.uuids(version=4))),
        "model": "ideogram:1@2",
        "inputs": {"referenceImages": [draw(ref_strategy)]},
        "positivePrompt": draw(prompt),
        "width": width,
        "height": height,
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "negativePrompt": prompt,
        "outputFormat": st.sampled_from(["JPG", "PNG", "WEBP"]),
        "outputQuality": st.integers(20, 99),
        "deliveryMethod": st.sampled_from(["sync", "async"]),
        "webhookURL": st.just("https://hooks.example.com/in?token=t"),
        "uploadEndpoint": st.just("http://127.0.0.1:9/upload"),
        "includeCost": st.booleans(),
        "numberResults": st.integers(1, 20),
        "safety": st.fixed_dictionaries(
            {}, optional={"checkContent": st.booleans(), "mode": st.sampled_from(["none", "fast"])}
        ),
        "providerSettings": st.fixed_dictionaries(
            {},
            optional={
                "ideogram": st.fixed_dictionaries(
                    {},
                    optional={
                        "magicPrompt": st.sampled_from(["AUTO", "ON", "OFF"]),
                        "remixStrength": st.integers(1, 100),
                        "renderingSpeed": st.sampled_from(["TURBO", "DEFAULT", "QUALITY"]),
                        "styleType": st.sampled_from(
                            ["AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME", "FICTION"]
                        ),
                        "styleReferenceImages": st.lists(ref_strategy, min_size=1, max_size=4),
                    },
                )
            },
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            task[key] = draw(strategy)
    output_type = draw(st.sampled_from([None, "URL", "base64Data", "dataURI"]))
    if output_type is not None:
        task["outputType"] = output_type
    if output_type in (None, "URL") and draw(st.booleans()):
        task["ttl"] = draw(st.integers(min_value=60, max_value=10**7))
    return task


@given(doc_tasks())
def test_tasks_built_from_the_doc_are_accepted(task: dict[str, Any]) -> None:
    assert validate(task) == []
    assert is_valid([task, {"taskType": "getResponse", "taskUUID": task["taskUUID"]}])


# -- Runware's dialect: per-parameter codes, its message style, its fields --------------------------


def test_out_of_range_speaks_runwares_dialect() -> None:
    err = only_error(with_value("providerSettings.ideogram.remixStrength", 150))
    item = err.to_dict()
    assert (err.kind, item["code"]) == ("outOfRange", "invalidRemixStrength")
    assert item["parameter"] == "providerSettings.ideogram.remixStrength"
    assert (item["type"], item["min"], item["max"]) == ("integer", 1, 100)
    assert item["message"] == (
        "Invalid value for 'remixStrength' parameter. It must be an integer value between 1 and 100, got 150."
    )
    assert item["documentation"] == "https://runware.ai/docs/en/image-inference/api-reference"
    assert (item["taskType"], item["taskUUID"]) == ("imageInference", DOCS_EXAMPLE["taskUUID"])


@pytest.mark.parametrize(
    ("path", "value", "code", "anchor"),
    [
        ("width", "x", "invalidWidth", "#request-width"),
        ("inputs.referenceImages", ["not an image"], "invalidReferenceImages", "#request-inputs"),
        ("outputType", "PNG", "invalidOutputType", "#request-outputtype"),
        ("taskUUID", "x", "invalidTaskUUID", "#request-taskuuid"),
        ("model", "ideogram:1@1", "invalidModel", "#request-model"),
        ("safety.mode", "strict", "invalidMode", "#request-safety"),
    ],
)
def test_codes_and_links_are_named_per_parameter(path: str, value: Any, code: str, anchor: str) -> None:
    err = only_error(with_value(path, value))
    assert err.code == code
    assert err.documentation == "https://runware.ai/docs/en/image-inference/api-reference" + anchor


def test_missing_parameter_message_and_code() -> None:
    err = only_error(without("positivePrompt"))
    assert (err.kind, err.code, err.type) == ("missingParameter", "missingPositivePrompt", "string")
    assert err.message == "Missing required parameter: 'positivePrompt'."


def test_misspelt_key_is_unsupported_parameter_with_did_you_mean() -> None:
    err = only_error(with_value("providerSettings.ideogram.remixStrenght", 75))
    assert (err.kind, err.code, err.parameter) == (
        "unknownParameter", "unsupportedParameter", "providerSettings.ideogram.remixStrenght",
    )  # fmt: skip
    assert err.message.startswith(
        "Unsupported use of 'remixStrenght' parameter. This parameter is not supported for the selected model. "
        "Supported parameters in providerSettings.ideogram: magicPrompt, remixStrength,"
    )
    assert err.message.endswith("Did you mean 'providerSettings.ideogram.remixStrength'?")


@pytest.mark.parametrize("key", ["seed", "steps", "CFGScale", "scheduler"])
def test_general_parameters_the_model_page_lacks_are_unsupported(key: str) -> None:
    assert only_error(with_value(key, 1)).code == "unsupportedParameter"


def test_unsupported_dimensions_list_every_size() -> None:
    err = only_error({**DOCS_EXAMPLE, "height": 1000})
    assert err.code == "unsupportedDimensions"
    assert err.message.startswith("Unsupported dimensions 1024x1000 for the selected model.")
    for width, height in schemas.allowed_sizes():
        assert f"{width}x{height}" in err.message
    assert err.allowed_values == tuple(f"{w}x{h}" for w, h in schemas.allowed_sizes())


def test_unknown_task_type_is_unsupported_task_type() -> None:
    err = only_error({**DOCS_EXAMPLE, "taskType": "imageInferense"})
    assert (err.kind, err.code, err.suggestion) == ("unknownTaskType", "unsupportedTaskType", "imageInference")


# -- warnings: what the real API accepts, said aloud ----------------------------------------------------


def test_check_nsfw_is_a_deprecated_but_accepted_parameter() -> None:
    result = validate({**DOCS_EXAMPLE, "checkNSFW": False})
    assert result == [] and is_valid({**DOCS_EXAMPLE, "checkNSFW": False})
    (warning,) = result.warnings
    assert (warning.code, warning.parameter, warning.is_warning) == ("deprecatedParameter", "checkNSFW", True)
    assert "safety.checkContent" in warning.message
    assert only_error({**DOCS_EXAMPLE, "checkNSFW": "no"}).code == "invalidCheckNSFW"


def test_safety_mode_full_from_the_general_reference_warns() -> None:
    result = validate(with_value("safety.mode", "full"))
    assert result == []
    assert [(w.code, w.parameter) for w in result.warnings] == [("undocumentedValue", "safety.mode")]
    assert validate(with_value("safety.mode", "fast")).warnings == ()


def test_strict_check_raises_on_warnings() -> None:
    task = {**DOCS_EXAMPLE, "checkNSFW": True}
    check(task)
    with pytest.raises(InvalidPayload) as info:
        check(task, strict=True)
    assert [e.code for e in info.value.errors] == ["deprecatedParameter"]


@pytest.mark.parametrize("name", ["webhookURL", "uploadEndpoint"])
def test_urls_with_user_info_are_valid(name: str) -> None:
    assert validate(with_value(name, "https://user:secret@hooks.example.com/in?x=1")) == []
    assert only_error(with_value(name, "https://user:secret@/in")).code == f"invalid{name[0].upper()}{name[1:]}"


def test_a_report_stops_at_max_errors_with_one_summary_item() -> None:
    flood = {**DOCS_EXAMPLE, **{f"k{i}": i for i in range(20_000)}}
    errors = validate(flood)
    assert len(errors) == 101 and errors[-1].code == "tooManyErrors" and errors[-1].max == 100
    assert {e.code for e in errors[:100]} == {"unsupportedParameter"}
    assert len(validate(flood, max_errors=None)) == 20_000
    assert validate({**DOCS_EXAMPLE, "k": 1}, max_errors=0)[0].code == "tooManyErrors"
