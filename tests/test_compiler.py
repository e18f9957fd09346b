"""The compiled fast path must agree with jsonschema on every instance."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import referencing
import referencing.jsonschema
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ideogram_kit import schemas
from ideogram_kit.compiler import Unsupported, compile_predicate

from .test_validation import DOCS_EXAMPLE

REQUEST = compile_predicate(schemas.registry(), schemas.uri("request"))
ORACLE = schemas.validator("request")
PATHS = [
    ("taskType",), ("taskUUID",), ("model",), ("width",), ("height",), ("ttl",), ("outputType",),
    ("numberResults",), ("positivePrompt",), ("webhookURL",), ("safety",), ("safety", "mode"),
    ("inputs",), ("inputs", "referenceImages"), ("providerSettings",), ("providerSettings", "ideogram"),
    ("providerSettings", "ideogram", "remixStrength"), ("providerSettings", "ideogram", "styleReferenceImages"),
    ("unknown",),
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["URL", "dataURI", "ideogram:1@2", "imageInference", "ping", "getResponse", "fast",
                       "c64351d5-4c59-42f7-95e1-eace013eddab", "https://a.example/x", 1024, 768, 60, 1.0, True]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def mutate(task: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> dict[str, Any]:
    out = copy.deepcopy(task)
    node = out
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = node[key] = {}
        node = nxt
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


@given(st.lists(st.tuples(st.sampled_from(PATHS), json_values, st.booleans()), max_size=3))
def test_agrees_with_jsonschema_on_mutated_tasks(mutations: list[tuple[tuple[str, ...], Any, bool]]) -> None:
    task = DOCS_EXAMPLE
    for path, value, delete in mutations:
        task = mutate(task, path, value, delete)
    assert REQUEST([task]) == ORACLE.is_valid([task])


@given(json_values)
def test_agrees_with_jsonschema_on_arbitrary_json(value: Any) -> None:
    for instance in (value, [value], [{"taskType": "imageInference", **value}] if isinstance(value, dict) else [value]):
        assert REQUEST(instance) == ORACLE.is_valid(instance)


@pytest.mark.parametrize(
    "instance",
    [
        [{**DOCS_EXAMPLE, "width": 1024.0}],
        [{**DOCS_EXAMPLE, "width": True}],
        [{**DOCS_EXAMPLE, "numberResults": 1.5}],
        [{"taskType": "ping", "ping": 1}],
        [{"taskType": "ping", "ping": True}],
        [{**DOCS_EXAMPLE, "ttl": 60, "outputType": "dataURI"}],
        [{**DOCS_EXAMPLE, "taskUUID": "6ba7b824-9dad-41d1-80b4-00c04fd430c8\n"}],
    ],
)
def test_json_schema_corner_cases(instance: Any) -> None:
    assert REQUEST(instance) == ORACLE.is_valid(instance)


@pytest.mark.parametrize("name", list(schemas.DOCUMENTS))
def test_every_bundled_document_compiles(name: str) -> None:
    compile_predicate(schemas.registry(), schemas.uri(name))


def _compile(schema: dict[str, Any]) -> Any:
    uri = "urn:test"
    resource = referencing.jsonschema.DRAFT202012.create_resource({"$id": uri, **schema})
    return compile_predicate(referencing.Registry().with_resource(uri, resource), uri)


@pytest.mark.parametrize(
    ("schema", "instances"),
    [
        ({"enum": [1, "a", None, [1]]}, [1, True, 1.0, "a", None, [1], [True], 2]),
        ({"const": {"a": [1, True]}}, [{"a": [1, True]}, {"a": [1, 1]}, {"a": [True, True]}]),
        ({"type": ["string", "null"], "maxLength": 2}, ["ab", "abc", None, 1]),
        ({"exclusiveMinimum": 0, "exclusiveMaximum": 2}, [0, 1, 2, "x"]),
        ({"oneOf": [{"type": "integer"}, {"minimum": 5}]}, [1, 6, 7.5, "x"]),
        ({"not": {"type": "string"}}, ["a", 1]),
        ({"if": {"type": "integer"}, "then": {"minimum": 3}, "else": {"type": "string"}}, [1, 3, "a", None]),
        ({"additionalProperties": {"type": "integer"}, "properties": {"a": {}}}, [{"a": "x", "b": 1}, {"b": "x"}]),
        ({"dependentRequired": {"a": ["b"]}, "minProperties": 1, "maxProperties": 2}, [{"a": 1}, {"a": 1, "b": 2}, {}]),
        ({"allOf": [True, {"type": "array", "items": False}]}, [[], [1]]),
        ({"dependentSchemas": {"a": {"required": ["b"]}}}, [{"a": 1}, {"a": 1, "b": 2}, {"b": 1}]),
        ({"anyOf": [{"not": {"type": "string"}}, {"minLength": 3}]}, ["ab", "abc", 1]),
        (
            {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}, "required": ["n"]},
            [{"n": 1, "kids": [{"n": 2, "kids": []}]}, {"n": 1, "kids": [{"kids": []}]}, {"n": 1, "kids": [3]}],
        ),
        ({"allOf": [{"$ref": "#/$defs/t"}], "$defs": {"t": {"items": {"$ref": "#/$defs/t"}}}}, [[[[]]], [[[1]]]]),
        ({"properties": {"a": {"$ref": "#/$defs/no"}, "b": False}, "$defs": {"no": False}}, [{}, {"a": 1}, {"b": 1}]),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/yes"}}, "$defs": {"yes": True}}, [{"a": 1}, 2]),
        # enum and allOf inside an inline expression (an anyOf branch; the request schema has neither there)
        ({"anyOf": [{"enum": ["x", "y"]}, {"allOf": [{"type": "integer"}, {"minimum": 2}]}]}, ["x", "z", 3, 1, 2.5]),
    ],
)
def test_keywords_match_jsonschema(schema: dict[str, Any], instances: list[Any]) -> None:
    predicate = _compile(schema)
    oracle = Draft202012Validator(schema)
    for instance in instances:
        assert predicate(instance) == oracle.is_valid(instance), instance


@pytest.mark.parametrize(
    "schema",
    [
        {"multipleOf": 2},
        {"patternProperties": {"a": {}}},
        {"contains": {}},
        {"properties": {"a": {"$id": "urn:other", "type": "string"}}},
    ],
)
def test_unknown_keywords_refuse_to_compile(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        _compile(schema)


# -- patterns checked without their regex (a 20 MiB base64 image must not block the event loop) --------

from hypothesis import example  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402

from ideogram_kit.compiler import FAST_PATTERNS  # noqa: E402

_PIECES = hst.sampled_from(["A", "b", "0", "+", "/", "=", "==", "\n", "QUJD", "QUI=", "QQ==", "data:image/png;base64,",
                            "data:image/", ";base64,", "x", ";", ".", "-", " "])  # fmt: skip


@pytest.mark.parametrize("pattern", list(FAST_PATTERNS))
@given(text=hst.lists(_PIECES, max_size=12).map("".join))
@example(text="QUJD\n")
@example(text="QUJD\n\n")
@example(text="QUI=")
@example(text="QQ==")
@example(text="QUJDQQ==")
@example(text="QUJDQUI=")
@example(text="=")
@example(text="data:image/png;base64,QUJD")
@example(text="data:image/;base64,QUJD")
def test_fast_patterns_answer_as_their_regex(pattern: str, text: str) -> None:
    assert FAST_PATTERNS[pattern](text) is (re.search(pattern, text) is not None), repr(text)


def test_the_bundled_base64_patterns_take_the_fast_path() -> None:
    patterns = {d["pattern"] for d in schemas.load("common")["$defs"].values() if "pattern" in d}
    assert set(FAST_PATTERNS) <= patterns  # a schema edit that changes them falls back to the regex, still right
