"""Validate Runware payloads for ``ideogram:1@2`` against the bundled schema.

``validate(payload)`` takes one task (a dict) or a whole request (a list of tasks) and
returns a list of :class:`~ideogram_kit.errors.TaskError`, empty when the payload is valid.
It reports **one error per mistake**: jsonschema's raw errors are mapped onto the kit's
error-code catalogue, ``anyOf`` failures are reported once (never branch by branch), and
an error that merely follows from another one on the same parameter is dropped.

The all-valid case takes a compiled fast path (:mod:`ideogram_kit.compiler`); jsonschema's
``iter_errors`` runs only to explain a failure.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import jsonschema.exceptions

from . import compiler, schemas
from .errors import InvalidPayload, PayloadAssertionError, TaskError, describe_value

__all__ = ["assert_valid_payload", "check", "format_parameter", "is_valid", "validate"]

_JSON_TYPE_NAMES = {
    "object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean", "null": "null",
}  # fmt: skip

_KEYWORD_CODES = {
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
    "dependentSchemas": "conflictingParameters",
}


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
def _fast_predicate() -> compiler.Predicate:
    try:
        return compiler.compile_predicate(schemas.registry(), schemas.uri("request"))
    except compiler.Unsupported:  # pragma: no cover - only after a schema edit the compiler lacks
        is_valid: compiler.Predicate = schemas.validator("request").is_valid
        return is_valid


def _as_request(payload: Any) -> tuple[Any, bool]:
    """The payload as a request array, and whether it was given as a single task."""
    if isinstance(payload, Mapping):
        return [payload], True
    if isinstance(payload, tuple):
        return list(payload), False
    return payload, False


def is_valid(payload: Any) -> bool:
    """True when ``payload`` (a task or a request array) has no validation error."""
    request, _ = _as_request(payload)
    return _fast_predicate()(request) and not _duplicate_uuids(request)


def validate(payload: Any) -> list[TaskError]:
    """All validation errors of ``payload`` (a task or a request array), one per mistake."""
    request, _ = _as_request(payload)
    fast_ok = _fast_predicate()(request)
    duplicates = _duplicate_uuids(request) if isinstance(request, list) else []
    if fast_ok and not duplicates:
        return []
    errors = [] if fast_ok else _report(request)
    errors.extend(duplicates)
    errors.sort(key=lambda e: -1 if e.task_index is None else e.task_index)
    return errors


def check(payload: Any) -> None:
    """Raise :class:`InvalidPayload` carrying every error when ``payload`` is invalid."""
    errors = validate(payload)
    if errors:
        raise InvalidPayload(errors)


def assert_valid_payload(payload: Any) -> None:
    """Like :func:`check`, but raises :class:`PayloadAssertionError` (an ``AssertionError``)."""
    errors = validate(payload)
    if errors:
        raise PayloadAssertionError(errors)


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
            errors.append(
                TaskError(
                    code="conflictTaskUUID",
                    message=f"taskUUID {uuid} is already used by task {seen[key]} of this request.",
                    parameter="taskUUID",
                    task_index=index,
                    task_uuid=uuid,
                    task_type="imageInference",
                    value=uuid,
                    hint="give every task its own uuid4()",
                )
            )
        else:
            seen[key] = index
    return errors


# ---------------------------------------------------------------------------------------------
# Mapping jsonschema's errors onto the catalogue
# ---------------------------------------------------------------------------------------------


def _report(request: Any) -> list[TaskError]:
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
    seen: set[tuple[int | None, str | None, str]] = set()
    for raw in schemas.validator("request").iter_errors(request):
        for err in _translate(raw, request):
            # one error per parameter, except that "ttl does not apply here" is a mistake of
            # its own beside a bad ttl value
            key = (err.task_index, err.parameter, "" if err.code != "conflictingParameters" else err.code)
            if key in seen:
                continue
            seen.add(key)
            errors.append(err)
    return _drop_consequences(errors)


def _drop_consequences(errors: list[TaskError]) -> list[TaskError]:
    """Remove errors that only follow from another error of the same task."""
    flagged = {(e.task_index, e.parameter) for e in errors if e.code != "unsupportedDimensions"}
    kept = []
    for err in errors:
        if err.code == "unsupportedDimensions" and (
            (err.task_index, "width") in flagged or (err.task_index, "height") in flagged
        ):
            continue
        if err.code == "conflictingParameters" and (err.task_index, "outputType") in flagged:
            continue
        kept.append(err)
    return kept


def _task_fields(request: list[Any], index: int) -> dict[str, Any]:
    task = request[index]
    fields: dict[str, Any] = {"task_index": index}
    if isinstance(task, Mapping):
        if isinstance(task.get("taskUUID"), str):
            fields["task_uuid"] = task["taskUUID"]
        if isinstance(task.get("taskType"), str):
            fields["task_type"] = task["taskType"]
    return fields


def _translate(err: jsonschema.exceptions.ValidationError, request: list[Any]) -> Iterator[TaskError]:
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
    if "dependentSchemas" in err.absolute_schema_path:
        yield _conflict(err, rel, base)
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
    code = schema.get("x-errorCode") if keyword in ("const", "enum", "anyOf") else None
    if code == "unsupportedDimensions":
        yield _dimensions(err.instance, base)
        return
    code = code or _KEYWORD_CODES.get(keyword, "invalidValue")
    builder = _BUILDERS.get(code, _invalid_value)
    yield builder(code, parameter, err, schema, base)


def _missing(rel: list[Any], base: dict[str, Any]) -> TaskError:
    parameter = format_parameter(rel)
    return TaskError(
        code="missingParameter",
        message=f"Missing required parameter '{parameter}'.",
        parameter=parameter,
        hint=_missing_hint(parameter),
        **base,
    )


def _missing_hint(parameter: str) -> str | None:
    if parameter in ("width", "height"):
        return "width and height are a pair: " + _sizes_text(schemas.allowed_sizes())
    return None


def _unknown(err: jsonschema.exceptions.ValidationError, rel: list[Any], base: dict[str, Any]) -> Iterator[TaskError]:
    known = list(err.schema.get("properties", {})) if isinstance(err.schema, Mapping) else []
    instance = err.instance if isinstance(err.instance, Mapping) else {}
    where = format_parameter(rel)
    for key in instance:
        if key in known:
            continue
        parameter = format_parameter([*rel, key])
        suggestion = _suggest_parameter(str(key), known, where)
        place = f" in {where}" if where else ""
        message = f"Unknown parameter '{key}'{place}."
        hint = None
        if suggestion:
            message += f" Did you mean '{suggestion}'?"
            moved = suggestion.rsplit(".", 1)[-1] == key
            hint = f"move it to {suggestion}" if moved else f"rename it to {suggestion}"
        elif known:
            hint = "allowed here: " + ", ".join(known)
        yield TaskError(
            code="unknownParameter",
            message=message,
            parameter=parameter,
            value=instance[key],
            suggestion=suggestion,
            hint=hint,
            **base,
        )


def _suggest_parameter(key: str, siblings: list[str], where: str) -> str | None:
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


@functools.cache
def _all_task_parameters() -> tuple[str, ...]:
    return tuple(schemas.task_parameters())


@functools.cache
def _leaf_names() -> tuple[str, ...]:
    return tuple(p.rsplit(".", 1)[-1] for p in _all_task_parameters())


def _conflict(err: jsonschema.exceptions.ValidationError, rel: list[Any], base: dict[str, Any]) -> TaskError:
    schema_path = list(err.absolute_schema_path)
    trigger = str(schema_path[schema_path.index("dependentSchemas") + 1])
    # rel is the path of the parameter the dependent schema constrains (outputType)
    other = format_parameter(rel)
    required = err.validator_value
    return TaskError(
        code="conflictingParameters",
        message=(
            f"'{trigger}' applies only when {other} is {describe_value(required)}; "
            f"this task has {other} {describe_value(err.instance)}."
        ),
        parameter=trigger,
        value=err.instance,
        allowed_values=(required,),
        hint=f"remove {trigger}, or set {other} to {describe_value(required)}",
        **base,
    )


def _sizes_text(sizes: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{h}" for w, h in sizes)


def _dimensions(task: Any, base: dict[str, Any]) -> TaskError:
    sizes = schemas.allowed_sizes()
    width, height = task.get("width"), task.get("height")
    width_ok = _json_type(width) in ("integer", "number") and width in {w for w, _ in sizes}
    parameter = "height" if width_ok else "width"
    value = height if parameter == "height" else width
    got = f"{describe_value(width)}x{describe_value(height)}"
    return TaskError(
        code="unsupportedDimensions",
        message=f"{got} is not a size ideogram:1@2 renders; width and height must be one of the allowed pairs.",
        parameter=parameter,
        value=value,
        allowed_sizes=sizes,
        hint="use one of " + _sizes_text(sizes),
        **base,
    )


def _type_error(code: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    expected = err.validator_value
    names: list[str] = expected if isinstance(expected, list) else [expected]
    wanted = " or ".join(_JSON_TYPE_NAMES.get(n, n) for n in names)
    return TaskError(
        code=code,
        message=f"'{parameter}' must be {wanted}, got {_got(err.instance)}.",
        parameter=parameter,
        value=err.instance,
        type="|".join(names),
        **base,
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


def _invalid_value(code: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    allowed = list(schema["enum"]) if "enum" in schema else [schema.get("const", err.validator_value)]
    suggestion = None
    if isinstance(err.instance, str):
        strings = [a for a in allowed if isinstance(a, str)]
        by_case = {a.lower(): a for a in strings}
        suggestion = by_case.get(err.instance.lower()) or next(
            iter(difflib.get_close_matches(err.instance, strings, n=1, cutoff=0.6)), None
        )
    listed = ", ".join(str(a) for a in allowed)
    message = f"'{parameter}' must be one of {listed}; got {describe_value(err.instance)}."
    if len(allowed) == 1:
        message = f"'{parameter}' must be {describe_value(allowed[0])}; got {describe_value(err.instance)}."
    if suggestion:
        message += f" Did you mean '{suggestion}'?"
    return TaskError(
        code=code,
        message=message,
        parameter=parameter,
        value=err.instance,
        allowed_values=tuple(allowed),
        suggestion=suggestion,
        **base,
    )


def _bounds(schema: Mapping[str, Any], low: str, high: str) -> tuple[Any, Any]:
    return schema.get(low), schema.get(high)


def _range_error(code: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    low, high = _bounds(schema, "minimum", "maximum")
    if low is not None and high is not None:
        rule = f"between {low} and {high}"
    elif low is not None:
        rule = f"at least {low}"
    else:
        rule = f"at most {high}"
    return TaskError(
        code=code,
        message=f"'{parameter}' must be {rule}, got {describe_value(err.instance)}.",
        parameter=parameter,
        value=err.instance,
        min=low,
        max=high,
        **base,
    )


def _length_error(code: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    is_array = isinstance(err.instance, list)
    low, high = _bounds(schema, *(("minItems", "maxItems") if is_array else ("minLength", "maxLength")))
    unit = "item" if is_array else "character"
    if low is not None and low == high:
        rule = f"exactly {low} {unit}{'s' if low != 1 else ''}"
    elif low is not None and high is not None:
        rule = f"{low} to {high} {unit}s"
    elif low is not None:
        rule = f"at least {low} {unit}{'s' if low != 1 else ''}"
    else:
        rule = f"at most {high} {unit}s"
    verb = "hold" if is_array else "be"
    extent = "long" if not is_array else ""
    message = f"'{parameter}' must {verb} {rule}{' ' + extent if extent else ''}, got {len(err.instance)}."
    return TaskError(code=code, message=message, parameter=parameter, value=err.instance, min=low, max=high, **base)


def _format_error(code: str, parameter: str, err: Any, schema: Mapping[str, Any], base: dict[str, Any]) -> TaskError:
    title = schema.get("title", "in the required format")
    return TaskError(
        code=code,
        message=f"'{parameter}' must be {title}, got {describe_value(err.instance)}.",
        parameter=parameter,
        value=err.instance,
        **base,
    )


_BUILDERS = {
    "invalidType": _type_error,
    "invalidValue": _invalid_value,
    "unsupportedModel": _invalid_value,
    "unknownTaskType": _invalid_value,
    "outOfRange": _range_error,
    "invalidLength": _length_error,
    "invalidFormat": _format_error,
}
