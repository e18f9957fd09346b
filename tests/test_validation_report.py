"""What the validator's report says about each kind of mistake, pinned where the mutation run found it
unchecked (docs/mutation.md): did-you-mean answers and their hints, the rule a message states, item
positions, and one report per mistake (an invalid width is not also an unsupported size).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ideogram_kit.errors import TaskError
from ideogram_kit.validation import validate

TASK: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text()
)
TASK_TYPES = ("imageInference", "authentication", "getResponse", "getTaskDetails", "ping")


def errors(**changes: Any) -> list[TaskError]:
    return list(validate([{**TASK, **changes}]))


def test_an_unknown_task_type_keeps_its_message_and_adds_the_nearest_one() -> None:
    [error] = errors(taskType="imageInferenc")
    assert error.code == "unsupportedTaskType"
    assert error.message.startswith('Unsupported task type "imageInferenc". Supported task types: ')
    assert error.message.endswith(" Did you mean 'imageInference'?")
    assert (error.suggestion, error.allowed_values) == ("imageInference", TASK_TYPES)


def test_a_misspelt_key_is_renamed_and_a_misplaced_one_moved() -> None:
    [misspelt] = errors(positivPrompt="x")
    assert (misspelt.suggestion, misspelt.hint) == ("positivePrompt", "rename it to positivePrompt")
    [misplaced] = errors(remixStrength=50)
    assert misplaced.suggestion == "providerSettings.ideogram.remixStrength"
    assert misplaced.hint == "move it to providerSettings.ideogram.remixStrength"


def test_a_long_unknown_key_gets_no_suggestion_and_the_same_answer_every_time() -> None:
    name = "positivePrompt" + "x" * 60  # past 64 characters: not remembered, still compared
    first, again = errors(**{name: 1}), errors(**{name: 1})
    assert [(e.code, e.parameter, e.suggestion) for e in first] == [("unsupportedParameter", name, None)]
    assert [(e.message, e.suggestion) for e in first] == [(e.message, e.suggestion) for e in again]


def test_a_missing_size_names_the_pairs_either_way() -> None:
    for side in ("width", "height"):
        [error] = validate([{k: v for k, v in TASK.items() if k != side}])
        assert error.parameter == side and error.hint is not None
        assert error.hint.startswith("width and height are a pair: 1024x1024, ")


def test_an_invalid_side_is_not_also_reported_as_an_unsupported_size() -> None:
    assert [(e.code, e.parameter) for e in errors(width="abc")] == [("invalidWidth", "width")]
    assert [(e.code, e.parameter) for e in errors(height=True)] == [("invalidHeight", "height")]
    assert [e.code for e in errors(width=1000)] == ["unsupportedDimensions"]  # a valid integer: the pair is wrong
    # an unsupported width beside an invalid or missing height: the height is the mistake, not the pair
    assert [(e.code, e.parameter) for e in errors(width=1000, height="b")] == [("invalidHeight", "height")]
    missing = validate([{k: v for k, v in {**TASK, "width": 1000}.items() if k != "height"}])
    assert [(e.code, e.parameter) for e in missing] == [("missingHeight", "height")]


def test_an_invalid_task_uuid_of_another_task_type_links_that_task_types_page() -> None:
    pages = {"getResponse": "task-polling", "getTaskDetails": "task-details"}
    for task_type, page in pages.items():
        [err] = validate([{"taskType": task_type, "taskUUID": "nope"}])
        assert (err.code, err.task_type) == ("invalidTaskUUID", task_type)
        assert err.documentation == f"https://runware.ai/docs/platform/{page}#request-taskuuid"


def test_each_message_states_the_rule_the_value_broke() -> None:
    def message(**changes: Any) -> str:
        [error] = errors(**changes)
        return error.message

    assert message(includeCost="yes") == (
        "Invalid value for 'includeCost' parameter. It must be a boolean (true or false), got string \"yes\"."
    )
    assert message(positivePrompt="") == (
        "Invalid value for 'positivePrompt' parameter. It must be a string of 1 to 2000 characters, "
        'got "" (0 characters).'
    )
    assert message(outputQuality=10.5) == (
        "Invalid value for 'outputQuality' parameter. It must be an integer value between 20 and 99, got number 10.5."
    )
    assert "It must be an array of exactly 1 item, each an image reference" in message(
        inputs={"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"] * 2}
    )


def test_an_item_s_error_names_its_position_and_the_item_rule() -> None:
    found = errors(inputs={"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab", 5]})
    item = [e for e in found if e.parameter == "inputs.referenceImages[1]"]
    assert len(item) == 1
    assert item[0].message == (
        "Invalid value for 'referenceImages' parameter. Item 1 must be an image reference "
        "(UUID, http(s) URL, data URI or raw base64), got integer 5."
    )
    assert item[0].value == 5


def test_a_body_of_many_unknown_keys_is_reported_up_to_max_errors() -> None:
    task = {**{f"junk{i}": i for i in range(500)}, **TASK, "width": "abc"}
    found = list(validate([task], max_errors=3))
    assert [(e.code, e.parameter) for e in found] == [
        ("unsupportedParameter", "junk0"), ("unsupportedParameter", "junk1"), ("unsupportedParameter", "junk2"),
        ("tooManyErrors", None),
    ]  # fmt: skip
    assert found[-1].message == "More errors follow; the report stops at 3. Fix these and validate again."


def test_every_reuse_of_a_task_uuid_in_one_request_is_a_conflict_whatever_its_case() -> None:
    other = "6ba7b824-9dad-41d1-80b4-00c04fd430c9"
    request = [TASK, dict(TASK), {**TASK, "taskUUID": TASK["taskUUID"].upper()}, {**TASK, "taskUUID": other}, TASK]
    found = [(e.code, e.task_index, e.task_type, e.parameter) for e in validate(request)]
    assert found == [("conflictTaskUUID", i, "imageInference", "taskUUID") for i in (1, 2, 4)]


def test_a_conflict_is_found_past_tasks_of_other_types() -> None:
    request = [{"taskType": "ping", "ping": True}, TASK, dict(TASK)]
    assert [(e.code, e.task_index) for e in validate(request)] == [("conflictTaskUUID", 2)]


def test_a_task_that_is_not_an_object_is_reported_at_its_place() -> None:
    [err] = validate([TASK, 5])
    assert (err.code, err.task_index, err.message) == ("invalidRequestBody", 1, "Task 1 must be a JSON object, got 5.")
