"""Validate Runware payloads for ``ideogram:1@2`` against the bundled schema.

``validate(payload)`` takes one task (a dict) or a whole request (a list of tasks) and
returns a :class:`ValidationResult`: a list of :class:`~ideogram_kit.errors.TaskError`, empty
when the payload is valid, whose ``warnings`` attribute lists what the real API accepts but
ignores or deprecates (:mod:`ideogram_kit.payload_warnings`). It reports **one error per
mistake**: jsonschema's raw errors are mapped onto Runware's per-parameter codes
(:mod:`ideogram_kit.codes`) and messages, ``anyOf`` failures are reported once (never branch by
branch), and an error that merely follows from another one on the same parameter is dropped.

Both paths run code compiled from the schema (:mod:`ideogram_kit.compiler`): a predicate answers
"valid?", and a failure is explained from a compiled collector's raw errors (jsonschema's
``iter_errors`` errors, in its order); jsonschema stands in when the schema outgrows the compiler.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import jsonschema.exceptions

from . import compiler, schemas
from .codes import documentation_url, parameter_name, runware_code
from .errors import InvalidPayload, PayloadAssertionError, TaskError, describe_value
from .payload_warnings import may_warn, task_warnings, warning_test

__all__ = ["MAX_ERRORS", "ValidationResult", "assert_valid_payload", "check", "format_parameter", "is_valid",
           "validate"]  # fmt: skip

_JSON_TYPE_NAMES = {
    "object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean", "null": "null",
}  # fmt: skip
#: The ``type`` field of Runware's value errors ("integer", "float", "string[]", ...).
_RUNWARE_TYPES = {"integer": "integer", "number": "float", "string": "string", "boolean": "boolean",
                  "object": "object", "array": "array", "null": "null"}  # fmt: skip

#: The kit's class of mistake (``TaskError.kind``) for each failing JSON Schema keyword.
_KEYWORD_KINDS = {
    "type": "invalidType",
    "enum": "invalidValue",
    "const": "invalidValue",
    "minimum": "outOfRange",
    "maximum": "outOfRange",
    "exclusiveMinimum": "outOfRange",
    "exclusiveMaximum": "outOfRange",
    "minLength": "invalidLength",
    "maxLength": "invalidLength",
    "minItems": "invalidLength",
    "maxItems": "invalidLength",
    "pattern": "invalidFormat",
    "anyOf": "invalidFormat",
    "oneOf": "invalidFormat",
    "required": "missingParameter",
    "additionalProperties": "unknownParameter",
}


#: Most errors one report lists; past it one ``tooManyErrors`` item says the report stops there (a body of
#: 100,000 unknown keys costs the same as one of 100, and its answer stays small).
MAX_ERRORS = 100


class ValidationResult(list[TaskError]):
    """The errors of a payload (a plain list: empty when valid), and its ``warnings``."""

    warnings: tuple[TaskError, ...] = ()


def format_parameter(path: Iterable[str | int]) -> str:
    """Render a JSON path as the kit's parameter notation: ``inputs.referenceImages[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@functools.cache
def _error_collector() -> Callable[[Any], Iterable[_RawError]]:
    try:
        return compiler.compile_error_collector(schemas.registry(), schemas.uri("request"))
    except compiler.Unsupported:  # after a schema edit the compiler lacks (tests/test_compiled_report.py)
        return schemas.validator("request").iter_errors


_RawError = compiler.RawError | jsonschema.exceptions.ValidationError
_PREDICATE: compiler.Predicate | None = None  # the fast path's two tests, once compiled
_MAY_WARN: Callable[[Mapping[str, Any]], bool] = may_warn


def _compile_fast_path() -> compiler.Predicate:
    global _PREDICATE, _MAY_WARN
    try:
        _PREDICATE = compiler.compile_predicate(schemas.registry(), schemas.uri("request"))
    except compiler.Unsupported:  # pragma: no cover - only after a schema edit the compiler lacks
        _PREDICATE = schemas.validator("request").is_valid
    _MAY_WARN = warning_test()
    return _PREDICATE


def _as_request(payload: Any) -> Any:
    """The payload as a request array (a task becomes an array of one)."""
    if payload.__class__ is dict or isinstance(payload, Mapping):
        return [payload]
    return list(payload) if isinstance(payload, tuple) else payload


def is_valid(payload: Any) -> bool:
    """True when ``payload`` (a task or a request array) has no validation error (warnings allowed)."""
    request = payload if payload.__class__ is list else _as_request(payload)
    return (_PREDICATE or _compile_fast_path())(request) and (len(request) == 1 or not _duplicate_uuids(request))


def validate(payload: Any, *, max_errors: int | None = MAX_ERRORS) -> ValidationResult:
    """All validation errors of ``payload`` (a task or a request array), one per mistake.

    The result is a list of errors; its ``warnings`` attribute holds the warnings of the
    payload's valid ``imageInference`` tasks. At most ``max_errors`` errors are listed, then one
    ``tooManyErrors`` item (``None`` lists them all).
    """
    request = payload if payload.__class__ is list else _as_request(payload)
    fast_ok = (_PREDICATE or _compile_fast_path())(request)
    if fast_ok and len(request) == 1 and not _MAY_WARN(request[0]):  # one valid task without warnings
        return ValidationResult()
    duplicates = _duplicate_uuids(request) if isinstance(request, list) else []
    result = ValidationResult()
    if not (fast_ok and not duplicates):
        errors = [] if fast_ok else _report(request, max_errors)
        errors.extend(duplicates)
        errors.sort(key=lambda e: -1 if e.task_index is None else e.task_index)
        if max_errors is not None and len(errors) > max_errors:
            errors = [*errors[:max_errors], _too_many(max_errors)]
        result.extend(errors)
    if isinstance(request, list):
        failed = {e.task_index for e in result}
        found: list[TaskError] = []
        for index, task in enumerate(request):
            if index not in failed and isinstance(task, dict) and task.get("taskType") == "imageInference":
                found.extend(task_warnings(task, index))
        if found:
            result.warnings = tuple(found)
    return result


def check(payload: Any, *, strict: bool = False) -> None:
    """Raise :class:`InvalidPayload` carrying every error when ``payload`` is invalid.

    With ``strict=True`` warnings count as errors too.
    """
    result = validate(payload)
    problems = [*result, *result.warnings] if strict else list(result)
    if problems:
        raise InvalidPayload(problems)


def assert_valid_payload(payload: Any, *, strict: bool = False) -> None:
    """Like :func:`check`, but raises :class:`PayloadAssertionError` (an ``AssertionError``)."""
    result = validate(payload)
    problems = [*result, *result.warnings] if strict else list(result)
    if problems:
        raise PayloadAssertionError(problems)


# ---------------------------------------------------------------------------------------------
# Building errors in Runware's dialect
# ---------------------------------------------------------------------------------------------


def _error(kind: str, parameter: str | None, message: str, base: Mapping[str, Any], **fields: Any) -> TaskError:
    """A :class:`TaskError` of ``kind``, with Runware's code and documentation link for ``parameter``."""
    known = fields.pop("known", True)
    return TaskError(
        code=runware_code(kind, parameter),
        kind=kind,
        message=message,
        parameter=parameter,
        documentation=documentation_url(parameter, base.get("task_type"), known=known),
        **base,
        **fields,
    )


# ---------------------------------------------------------------------------------------------
# Batch rules
# ---------------------------------------------------------------------------------------------


def _duplicate_uuids(request: Sequence[Any]) -> list[TaskError]:
    seen: dict[str, int] = {}
    errors = []
    for index, task in enumerate(request):
        if not isinstance(task, Mapping) or task.get("taskType") != "imageInference":
            continue
        uuid = task.get("taskUUID")
        if not isinstance(uuid, str):
            continue
        key = uuid.lower()
        if key in seen:
            base = {"task_index": index, "task_uuid": uuid, "task_type": "imageInference"}
            errors.append(
                _error(
                    "conflictTaskUUID",
                    "taskUUID",
                    f"Conflicting taskUUID '{uuid}': task {seen[key]} of this request already uses it. "
                    "Every task needs its own UUID v4.",
                    base,
                    value=uuid,
                    type="string",
                    hint="give every task its own uuid4()",
                )
            )
        else:
            seen[key] = index
    return errors


# ---------------------------------------------------------------------------------------------
# Mapping jsonschema's errors onto the catalogue
# ---------------------------------------------------------------------------------------------


def _too_many(limit: int) -> TaskError:
    return TaskError(
        code="tooManyErrors",
        message=f"More errors follow; the report stops at {limit}. Fix these and validate again.",
        max=limit,
    )


def _report(request: Any, max_errors: int | None = None) -> list[TaskError]:
    if not isinstance(request, list):
        return [
            TaskError(
                code="invalidRequestBody",
                message="The request must be a JSON array of tasks (or one task object), "
                f"got {describe_value(request)}.",
                value=request,
                hint='wrap the task in a list: [{"taskType": "imageInference", ...}]',
            )
        ]
    if not request:
        return [TaskError(code="invalidRequestBody", message="The request array is empty; send at least one task.")]
    errors: list[TaskError] = []
    seen: set[tuple[int | None, str | None]] = set()
    if max_errors is not None:
        request = _trimmed(request, 2 * max_errors + 1)
    for raw in _error_collector()(request):
        for err in _translate(raw, request):
            key = (err.task_index, err.parameter)  # one error per parameter
            if key in seen:
                continue
            seen.add(key)
            errors.append(err)
            if max_errors is not None and len(errors) > 2 * max_errors:  # enough to report: stop the work
                return _drop_consequences(errors)
    return _drop_consequences(errors)


def _trimmed(node: Any, limit: int, depth: int = 0) -> Any:
    """``node`` with each object's unknown keys past the first ``limit`` left out (copied only where
    something is left out): a body of 100,000 unknown keys is reported at the cost of a few hundred.
    Only the levels the schemas describe are looked at (the request array, tasks, their objects)."""
    if depth > 4:
        return node
    if isinstance(node, list):
        items = [_trimmed(item, limit, depth + 1) for item in node]
        return node if all(new is old for new, old in zip(items, node, strict=True)) else items
    if not isinstance(node, dict):
        return node
    known = schemas.request_property_names()
    out: dict[str, Any] = {}
    unknown = 0
    changed = False
    for key, value in node.items():
        if key not in known:
            unknown += 1
            if unknown > limit:
                changed = True
                continue
        new = _trimmed(value, limit, depth + 1) if isinstance(value, (dict, list)) and key in known else value
        changed = changed or new is not value
        out[key] = new
    return out if changed else node


def _drop_consequences(errors: list[TaskError]) -> list[TaskError]:
    """Remove errors that only follow from another error of the same task."""
    flagged = {(e.task_index, e.parameter) for e in errors if e.kind != "unsupportedDimensions"}
    return [
        err
        for err in errors
        if not (
            err.kind == "unsupportedDimensions"
            and ((err.task_index, "width") in flagged or (err.task_index, "height") in flagged)
        )
    ]


def _task_fields(request: list[Any], index: int) -> dict[str, Any]:
    task = request[index]
    fields: dict[str, Any] = {"task_index": index}
    if isinstance(task, Mapping):
        if isinstance(task.get("taskUUID"), str):
            fields["task_uuid"] = task["taskUUID"]
        if isinstance(task.get("taskType"), str):
            fields["task_type"] = task["taskType"]
    return fields


def _translate(err: _RawError, request: list[Any]) -> Iterator[TaskError]:
    path = list(err.absolute_path)
    index = path[0]
    assert isinstance(index, int)
    base = _task_fields(request, index)
    rel = path[1:]
    keyword = str(err.validator)
    schema: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}

    if not rel and keyword == "type":
        yield TaskError(
            code="invalidRequestBody",
            message=f"Task {index} must be a JSON object, got {describe_value(err.instance)}.",
            value=err.instance,
            **base,
        )
        return
    if keyword == "required":
        required: list[str] = err.validator_value  # type: ignore[assignment]
        for name in required:
            if isinstance(err.instance, Mapping) and name not in err.instance:
                yield _missing([*rel, name], base)
        return
    if keyword == "additionalProperties":
        yield from _unknown(err, rel, base)
        return
    parameter = format_parameter(rel)
    kind = schema.get("x-errorKind") if keyword in ("const", "enum", "anyOf") else None
    if kind == "unsupportedDimensions":
        yield _dimensions(err.instance, base)
        return
    if kind == "unknownTaskType":
        yield _unknown_task_type(err.instance, base)
        return
    yield _value_error(kind or _KEYWORD_KINDS.get(keyword, "invalidValue"), parameter, err, schema, base)


def _param_schema(parameter: str, base: Mapping[str, Any], fallback: Mapping[str, Any]) -> Mapping[str, Any]:
    """The whole (``$ref``-merged) schema of an imageInference parameter, else the failing subschema."""
    if base.get("task_type") == "imageInference" and "[" not in parameter:
        found = schemas.task_parameters().get(parameter)
        if found is not None:
            return found
    return fallback


def _items_schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    items = schema.get("items", {})
    ref = items.get("$ref") if isinstance(items, Mapping) else None
    if ref is None:
        return items if isinstance(items, Mapping) else {}
    contents: Mapping[str, Any] = schemas.registry().resolver(schemas.uri("image-inference")).lookup(ref).contents
    return contents


def _runware_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if not isinstance(kind, str):
        return None
    if kind == "array":
        item = _items_schema(schema).get("type")
        return f"{_RUNWARE_TYPES.get(item, item)}[]" if isinstance(item, str) else "array"
    return _RUNWARE_TYPES.get(kind, kind)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _rule(schema: Mapping[str, Any]) -> str:
    """What a value must be, from its schema: ``an integer value between 1 and 100``."""
    if "const" in schema:
        return describe_value(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        noun = "an integer value" if kind == "integer" else "a number"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{noun} between {low} and {high}"
        if low is not None:
            return f"{noun} of at least {low}"
        return f"{noun} of at most {high}" if high is not None else noun
    if kind == "string":
        if "title" in schema and ("pattern" in schema or "anyOf" in schema):
            return str(schema["title"])
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if high is not None:
            return f"a string of {low} to {high} characters"
        return f"a string of at least {_count(low, 'character')}" if low else "a string"
    if kind == "array":
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        if high is not None and low == high:
            size = f"exactly {_count(low, 'item')}"
        elif high is not None:
            size = f"{low} to {high} items"
        else:
            size = f"at least {_count(low, 'item')}"
        item = _items_schema(schema)
        each = f", each {item['title']}" if "title" in item else ""
        return f"an array of {size}{each}"
    if kind == "boolean":
        return "a boolean (true or false)"
    return _JSON_TYPE_NAMES.get(str(kind), "a valid value")


def _missing(rel: list[Any], base: dict[str, Any]) -> TaskError:
    parameter = format_parameter(rel)
    schema = _param_schema(parameter, base, {})
    return _error(
        "missingParameter",
        parameter,
        f"Missing required parameter: '{parameter}'.",
        base,
        type=_runware_type(schema),
        hint=_missing_hint(parameter),
    )


def _missing_hint(parameter: str) -> str | None:
    if parameter in ("width", "height"):
        return "width and height are a pair: " + _sizes_text(schemas.allowed_sizes())
    return None


def _unknown(err: _RawError, rel: list[Any], base: dict[str, Any]) -> Iterator[TaskError]:
    known = tuple(err.schema.get("properties", {})) if isinstance(err.schema, Mapping) else ()
    instance = err.instance if isinstance(err.instance, Mapping) else {}
    where = format_parameter(rel)
    for key in instance:
        if key in known:
            continue
        parameter = format_parameter([*rel, key])
        name = str(key)
        suggestion = (_remembered_suggestion if len(name) <= 64 else _suggest_parameter)(name, known, where)
        place = f" in {where}" if where else ""
        message = (
            f"Unsupported use of '{key}' parameter. This parameter is not supported for the selected model. "
            f"Supported parameters{place}: {', '.join(known)}."
        )
        hint = None
        if suggestion:
            message += f" Did you mean '{suggestion}'?"
            moved = suggestion.rsplit(".", 1)[-1] == key
            hint = f"move it to {suggestion}" if moved else f"rename it to {suggestion}"
        yield _error(
            "unknownParameter",
            parameter,
            message,
            base,
            known=False,
            value=instance[key],
            allowed_values=known,
            suggestion=suggestion,
            hint=hint,
        )


def _suggest_parameter(key: str, siblings: tuple[str, ...], where: str) -> str | None:
    """Did-you-mean for an unknown key: a sibling close in spelling, or the same name elsewhere."""
    close = difflib.get_close_matches(key, siblings, n=1, cutoff=0.75)
    if not close:
        lowered = {s.lower(): s for s in siblings}
        if key.lower() in lowered:
            close = [lowered[key.lower()]]
    if close:
        return close[0] if not where else f"{where}.{close[0]}"
    if same_name := [p for p in _all_task_parameters() if p.rsplit(".", 1)[-1].lower() == key.lower()]:
        return same_name[0]
    everywhere = difflib.get_close_matches(key, _leaf_names(), n=1, cutoff=0.8)
    if everywhere:
        return next(p for p in _all_task_parameters() if p.rsplit(".", 1)[-1] == everywhere[0])
    return None


#: difflib is half a report's time, and clients repeat their mistakes: the answers for short keys are remembered.
_remembered_suggestion = functools.lru_cache(maxsize=1024)(_suggest_parameter)


@functools.cache
def _all_task_parameters() -> tuple[str, ...]:
    return tuple(schemas.task_parameters())


@functools.cache
def _leaf_names() -> tuple[str, ...]:
    return tuple(p.rsplit(".", 1)[-1] for p in _all_task_parameters())


def _unknown_task_type(value: Any, base: dict[str, Any]) -> TaskError:
    allowed = schemas.load("request")["$defs"]["task"]["properties"]["taskType"]["enum"]
    suggestion = _close_value(value, allowed)
    message = f"Unsupported task type {describe_value(value)}. Supported task types: {', '.join(allowed)}."
    if suggestion:
        message += f" Did you mean '{suggestion}'?"
    return _error(
        "unknownTaskType", "taskType", message, base,
        value=value, type="string", allowed_values=tuple(allowed), suggestion=suggestion,
    )  # fmt: skip


def _sizes_text(sizes: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{h}" for w, h in sizes)


def _dimensions(task: Any, base: dict[str, Any]) -> TaskError:
    sizes = schemas.allowed_sizes()
    width, height = task.get("width"), task.get("height")
    width_ok = _json_type(width) in ("integer", "number") and width in {w for w, _ in sizes}
    parameter = "height" if width_ok else "width"
    value = height if parameter == "height" else width
    got = f"{describe_value(width)}x{describe_value(height)}"
    return _error(
        "unsupportedDimensions",
        parameter,
        f"Unsupported dimensions {got} for the selected model. Supported dimensions (width x height): "
        f"{_sizes_text(sizes)}.",
        base,
        value=value,
        type="integer",
        allowed_values=tuple(f"{w}x{h}" for w, h in sizes),
        allowed_sizes=sizes,
        hint="use one of " + _sizes_text(sizes),
    )


def _got(value: Any) -> str:
    """``string "75"``, ``number 2.5``, ``an object``, ``null``: the type once, with the value."""
    rendered = describe_value(value)
    if value is None or isinstance(value, (bool, Mapping, list)):
        return rendered
    return f"{_json_type(value)} {rendered}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _close_value(value: Any, allowed: Sequence[Any]) -> str | None:
    """The allowed string ``value`` probably meant: the same in another case, or a close spelling."""
    if not isinstance(value, str):
        return None
    strings = [a for a in allowed if isinstance(a, str)]
    by_case = {a.lower(): a for a in strings}
    return by_case.get(value.lower()) or next(iter(difflib.get_close_matches(value, strings, n=1, cutoff=0.6)), None)


def _value_error(kind: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    """``Invalid value for '<name>' parameter. It must be <rule>, got <value>.`` with Runware's fields."""
    whole = _param_schema(parameter, base, schema)
    item_index = parameter.rpartition("[")[2].rstrip("]") if parameter.endswith("]") else None
    rule_schema = schema if item_index is not None or whole is schema else whole
    if kind == "invalidType" and item_index is None:
        rule_schema = whole
    subject = f"Item {item_index}" if item_index is not None else "It"
    got = _got(err.instance) if kind == "invalidType" else describe_value(err.instance)
    if kind == "invalidLength" and isinstance(err.instance, str):
        got = f"{describe_value(err.instance)} ({_count(len(err.instance), 'character')})"
    message = (
        f"Invalid value for '{parameter_name(parameter)}' parameter. {subject} must be {_rule(rule_schema)}, got {got}."
    )
    fields: dict[str, Any] = {"value": err.instance, "type": _runware_type(whole) or _runware_type(schema)}
    if "enum" in whole or "const" in whole:
        allowed = list(whole["enum"]) if "enum" in whole else [whole["const"]]
        fields["allowed_values"] = tuple(allowed)
        if suggestion := _close_value(err.instance, allowed):
            fields["suggestion"] = suggestion
            message += f" Did you mean '{suggestion}'?"
    if whole.get("type") in ("integer", "number"):
        fields["min"], fields["max"] = whole.get("minimum"), whole.get("maximum")
    elif kind == "invalidLength":
        low, high = ("minItems", "maxItems") if isinstance(err.instance, list) else ("minLength", "maxLength")
        fields["min"], fields["max"] = schema.get(low), schema.get(high)
    return _error(kind, parameter, message, base, **fields)
