"""The compiled error report against its differential oracle, jsonschema.

The validator explains a failure from the raw errors of a collector compiled from the schema
(:func:`ideogram_kit.compiler.compile_error_collector`). jsonschema's ``iter_errors`` is the
oracle: for generated valid tasks and requests, labelled one-mistake tasks, several mistakes at
once and arbitrary JSON in every place, both give the same errors (path, keyword, schema node,
instance) in the same order, and the report built from either is the same list of TaskErrors.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any
from unittest import mock

import pytest
import referencing
import referencing.jsonschema
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ideogram_kit import compiler, schemas, validate, validation
from ideogram_kit.compiler import Unsupported, compile_error_collector
from ideogram_kit.payload_warnings import may_warn, task_warnings
from ideogram_kit.strategies import InvalidCase, invalid_tasks, requests, valid_tasks

from .test_compiler import PATHS, json_values, mutate
from .test_validation import DOCS_EXAMPLE

ORACLE = schemas.validator("request")
COLLECT = compile_error_collector(schemas.registry(), schemas.uri("request"))


def raw(errors: Iterable[Any]) -> list[tuple[list[str | int], str | None, int, Any]]:
    """What the report is built from: path, keyword, the schema node (by identity), the instance."""
    return [(list(e.absolute_path), e.validator, id(e.schema), e.instance) for e in errors]


def oracle_report(payload: Any) -> list[Any]:
    """The validator's report as it was built before the compiler: from jsonschema's errors."""
    with mock.patch.object(validation, "_error_collector", lambda: ORACLE.iter_errors):
        return list(validate(payload, max_errors=None))


def assert_same(request: Any) -> None:
    assert raw(COLLECT(request)) == raw(ORACLE.iter_errors(request))
    assert list(validate(request, max_errors=None)) == oracle_report(request)


@given(st.one_of(valid_tasks().map(lambda task: [task]), requests()))
def test_valid_requests_give_no_raw_error(request: list[dict[str, Any]]) -> None:
    assert raw(COLLECT(request)) == [] == raw(ORACLE.iter_errors(request))


@given(invalid_tasks())
def test_each_labelled_mistake_gives_the_oracle_errors_and_report(case: InvalidCase) -> None:
    assert_same([case.payload])
    assert [(e.code, e.parameter) for e in validate(case.payload)] == [(case.code, case.parameter)]


@given(st.lists(invalid_tasks(), min_size=2, max_size=4))
def test_several_invalid_tasks_give_the_oracle_report_in_order(cases: list[InvalidCase]) -> None:
    assert_same([case.payload for case in cases])


@given(st.lists(st.tuples(st.sampled_from(PATHS), json_values, st.booleans()), min_size=1, max_size=4))
def test_several_mistakes_in_one_task_give_the_oracle_report(
    mutations: list[tuple[tuple[str, ...], Any, bool]],
) -> None:
    task = DOCS_EXAMPLE
    for path, value, delete in mutations:
        task = mutate(task, path, value, delete)
    assert_same([task])
    assert_same([task, {"taskType": "ping", "ping": task.get("width")}])


@given(json_values)
def test_arbitrary_json_anywhere_gives_the_oracle_errors(value: Any) -> None:
    for request in (value, [value], [{"taskType": "imageInference", **value}] if isinstance(value, dict) else [value]):
        assert raw(COLLECT(request)) == raw(ORACLE.iter_errors(request))
        if isinstance(request, list) and request:
            assert list(validate(request, max_errors=None)) == oracle_report(request)


OTHER_TASKS = st.fixed_dictionaries(
    {"taskType": st.sampled_from(["authentication", "getResponse", "getTaskDetails", "ping", "pong"])},
    optional={name: json_values for name in ("apiKey", "taskUUID", "connectionSessionUUID", "ping", "extra")},
)


@given(st.lists(OTHER_TASKS, min_size=1, max_size=3))
def test_the_other_task_types_give_the_oracle_report(request: list[dict[str, Any]]) -> None:
    assert_same(request)


def _collector(schema: Any) -> tuple[Any, Draft202012Validator]:
    """The compiled collector of ``schema`` and jsonschema's validator of the same document."""
    uri = "urn:test"
    contents = {"$id": uri, **schema} if isinstance(schema, dict) else schema
    resource = referencing.jsonschema.DRAFT202012.create_resource(contents)
    collect = compile_error_collector(referencing.Registry().with_resource(uri, resource), uri)
    return collect, Draft202012Validator(contents)


#: A recursive schema: a ``$ref`` back to the root is called, not inlined.
TREE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "not": {"required": ["bad"]},
}


@pytest.mark.parametrize(
    ("schema", "instances"),
    [
        ({"type": "integer", "minimum": 3, "maximum": 5}, [1, 2.5, 4, 7.0, "x", True, None]),
        ({"enum": [1, "a", None, [1]]}, [1, True, 1.0, "a", None, [1], [True], 2]),
        ({"const": {"a": [1, True]}}, [{"a": [1, True]}, {"a": [1, 1]}]),
        ({"type": ["string", "null"], "minLength": 2, "maxLength": 3, "pattern": "^a"}, ["ab", "b", "abcd", None, 1]),
        ({"exclusiveMinimum": 0, "exclusiveMaximum": 2}, [0, 1, 2, "x"]),
        ({"anyOf": [{"type": "integer"}, {"minimum": 5}]}, [1, 6.5, 2.5, "x"]),
        ({"oneOf": [{"type": "integer"}, {"minimum": 5}]}, [1, 6, 7.5, 2.5, "x"]),
        ({"not": {"type": "string"}}, ["a", 1]),
        ({"if": {"type": "integer"}, "then": {"minimum": 3}, "else": {"type": "string"}}, [1, 3, "a", None]),
        ({"if": {"type": "integer"}, "then": {"minimum": 3}}, [1, None]),
        ({"if": {"type": "integer"}, "else": {"type": "string"}}, [1, None]),
        ({"properties": {"a": {"type": "string"}, "b": False}, "required": ["b", "c"]}, [{"a": 1, "b": 2}, {}, 3]),
        ({"additionalProperties": {"type": "integer"}, "properties": {"a": {}}}, [{"a": "x", "b": 1}, {"b": "x"}]),
        ({"additionalProperties": False, "properties": {"a": {}}}, [{"a": 1}, {"a": 1, "b": 2, "c": 3}]),
        (
            {"dependentRequired": {"a": ["b", "c"]}, "minProperties": 2, "maxProperties": 2},
            [{"a": 1}, {"a": 1, "b": 2}],
        ),
        ({"dependentSchemas": {"a": {"required": ["b"]}}}, [{"a": 1}, {"a": 1, "b": 2}, {"b": 1}]),
        ({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3}, [[], ["a", 1, 2, "b"], "x"]),
        ({"allOf": [True, {"type": "array", "items": False}], "$defs": {"n": {"type": "null"}}}, [[], [1, 2]]),
        ({"items": {"$ref": "#/$defs/n"}, "$defs": {"n": {"type": "null"}}}, [[None, 1, None, "x"]]),
        (False, [1, None]),
        (True, [1, None]),
        (TREE, [{"name": "a", "children": [{"name": 1}, {"children": [{"bad": 1, "name": "c"}, 3]}]}]),
        ({"$ref": "#/$defs/s", "maxLength": 3, "$defs": {"s": {"type": "string", "minLength": 2}}}, ["a", "abcd", 1]),
    ],
)
def test_every_keyword_yields_what_jsonschema_yields(schema: Any, instances: list[Any]) -> None:
    collect, oracle = _collector(schema)
    for instance in instances:
        got = [(list(e.absolute_path), e.validator, e.schema, e.instance) for e in collect(instance)]
        want = [(list(e.absolute_path), e.validator, e.schema, e.instance) for e in oracle.iter_errors(instance)]
        assert got == want, instance


@pytest.mark.parametrize(
    "schema",
    [
        {"multipleOf": 2},
        {"patternProperties": {"a": {}}},
        {"contains": {}},
        {"properties": {"a": {"$id": "urn:other", "type": "string"}}},
        {"properties": {"a": 5}},
    ],
)
def test_unknown_keywords_refuse_to_compile(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        _collector(schema)


class _Explodes(dict[str, Any]):
    def __contains__(self, key: object) -> bool:
        raise AssertionError("the collector looked past the errors it was asked for")


def test_the_collector_works_only_as_far_as_it_is_read() -> None:
    """A report stops at its 2 x max_errors raw errors: the tasks after them are never looked at."""
    bad = {**DOCS_EXAMPLE, "width": 1000}
    errors = list(itertools.islice(COLLECT([bad, bad, _Explodes()]), 2))
    assert [(list(e.absolute_path), e.validator) for e in errors] == [([0], "anyOf"), ([1], "anyOf")]


def test_a_mapping_that_answers_missing_keys_is_still_missing_them() -> None:
    """jsonschema asks ``in``; so does the collector (a defaultdict would answer ``task["taskUUID"]``)."""
    task = defaultdict(str, {k: v for k, v in DOCS_EXAMPLE.items() if k != "taskUUID"})
    assert_same([task])
    assert [e.code for e in validate(task)] == ["missingTaskUUID"]
    assert "taskUUID" not in task


def test_did_you_mean_answers_are_remembered_for_short_keys_only() -> None:
    """Repeated mistakes cost no second difflib run; a hostile body's long keys take no memory."""
    long_key = "remixStrenght" + "x" * 60
    task = {**DOCS_EXAMPLE, "providerSettings": {"ideogram": {"remixStrenght": 1, long_key: 2}}}
    validation._remembered_suggestion.cache_clear()
    assert_same([task])
    assert [e.suggestion for e in validate(task)] == ["providerSettings.ideogram.remixStrength", None]
    assert validation._remembered_suggestion.cache_info().currsize == 1


def test_without_the_compiler_the_report_falls_back_to_jsonschema() -> None:
    """A schema edit the compiler lacks makes the report slower, never different."""
    payload = [{**DOCS_EXAMPLE, "width": 1000, "negativePrompt": ""}, {"taskType": "pong"}]
    compiled = validate(payload)

    def refuse(*args: Any) -> Iterator[Any]:
        raise Unsupported("multipleOf")

    validation._error_collector.cache_clear()
    try:
        with mock.patch.object(compiler, "compile_error_collector", refuse):
            assert validation._error_collector() == ORACLE.iter_errors
            assert validate(payload) == compiled
    finally:
        validation._error_collector.cache_clear()
    assert validation._error_collector() is not ORACLE.iter_errors


# -- warnings cost nothing on the valid path: the fast test never hides one ---------------------

WARNED = [
    {**DOCS_EXAMPLE, "checkNSFW": False},
    {**DOCS_EXAMPLE, "ttl": 60, "outputType": "base64Data"},
    {**DOCS_EXAMPLE, "safety": {"mode": "full"}},
]


@pytest.mark.parametrize("task", WARNED)
def test_the_fast_test_lets_every_warning_through(task: dict[str, Any]) -> None:
    assert may_warn(task)
    assert [w.code for w in validate(task).warnings] == [w.code for w in task_warnings(task, 0)] != []


@given(
    valid_tasks(),
    st.fixed_dictionaries(
        {},
        optional={
            "checkNSFW": st.booleans(),
            "ttl": st.integers(60, 10**6),
            "outputType": st.sampled_from(["URL", "base64Data", "dataURI"]),
            "safety": st.fixed_dictionaries({}, optional={"mode": st.sampled_from(["none", "fast", "full"])}),
        },
    ),
)
def test_a_valid_task_has_the_warnings_its_rules_give(task: dict[str, Any], extra: dict[str, Any]) -> None:
    task = {**task, **extra}
    assert validate(task).warnings == tuple(task_warnings(task, 0))
    assert may_warn(task) or not task_warnings(task, 0)
