"""Labelled invalid tasks: :func:`invalid_tasks` and :class:`InvalidCase` (part of
:mod:`ideogram_kit.strategies`).

An invalid case is built as *one* mutation of a valid task. The mutation (its kind and its target
parameter) is drawn first; the bad value comes from a strategy that only yields bad values for
that rule, and the mutation never touches another parameter's rule. So every example hypothesis
shrinks to is still invalid, for the reason its label gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .codes import runware_code
from .errors import SchemaError
from .strategy_tasks import _base_tasks
from .strategy_values import (
    _ABSENT,
    _C_DIMENSIONS,
    _C_FORMAT,
    _C_LENGTH,
    _C_MISSING,
    _C_RANGE,
    _C_TYPE,
    _C_UNKNOWN,
    _C_VALUE,
    _DEFS,
    _DEPENDENCIES,
    _HEIGHT,
    _HEIGHTS,
    _PARAMS,
    _SIZES,
    _TASK_TYPE_RULE,
    _WIDTH,
    _WIDTHS,
    Task,
    _ancestors,
    _code,
    _declared,
    _def_name,
    _def_regexes,
    _def_strategy,
    _join,
    _object_schema,
)

# ---------------------------------------------------------------------------------------------
# invalid_tasks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvalidCase:
    """A task with exactly one mistake, and what :func:`ideogram_kit.validate` must say about it.

    ``validate(case.payload)`` returns exactly one error, with ``code == case.code`` (Runware's
    code, ``invalidRemixStrength``), ``kind == case.kind`` (the kit's class of mistake,
    ``outOfRange``) and ``parameter == case.parameter`` (dotted path, ``[i]`` for array items).
    """

    payload: dict[str, Any]
    parameter: str
    code: str
    reason: str
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The labelled form written by ``ideogram-kit generate --invalid``."""
        return {"payload": self.payload, "parameter": self.parameter, "code": self.code, "kind": self.kind,
                "reason": self.reason}  # fmt: skip


#: Applies a mutation to a (fresh) valid task in place; returns ``(parameter, reason)``.
_Apply = Callable[[st.DrawFn, Task], tuple[str, str]]


@dataclass(frozen=True)
class _Mutation:
    kind: str
    target: str
    error_kind: str
    code: str
    apply: _Apply = field(repr=False, compare=False)
    present: frozenset[str] = frozenset()


def _get(payload: Task, path: str) -> Any:
    node: Any = payload
    for part in path.split("."):
        node = node[part]
    return node


def _put(payload: Task, path: str, value: Any) -> None:
    parent, _, key = path.rpartition(".")
    node = _get(payload, parent) if parent else payload
    if value is _ABSENT:
        node.pop(key, None)
    else:
        node[key] = value


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_JSON_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=8), _SCALARS, max_size=3),
)


def _json_types(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, list):
        return {"array"}
    if isinstance(value, dict):
        return {"object"}
    return {"null"}


def _wrong_type(expected: str | list[str]) -> st.SearchStrategy[Any]:
    wanted = {expected} if isinstance(expected, str) else set(expected)
    return _JSON_VALUES.filter(lambda v: not (_json_types(v) & wanted))


def _not_in(values: Sequence[Any]) -> st.SearchStrategy[str]:
    strings = [v for v in values if isinstance(v, str)]
    near = {f(s) for s in strings for f in (str.lower, str.upper, str.capitalize, lambda x: x + "S", lambda x: x[:-1])}
    near -= set(strings)
    options: list[st.SearchStrategy[str]] = [st.text(max_size=20)]
    if near:
        options.insert(0, st.sampled_from(sorted(near)))
    return st.one_of(*options).filter(lambda s: s not in values)


def _unknown_keys(known: Iterable[str]) -> st.SearchStrategy[str]:
    names = set(known)
    near = {k[:-2] + k[-1] + k[-2] for k in names if len(k) > 2} | {k.lower() for k in names} | {k + "s" for k in names}
    near -= names
    options: list[st.SearchStrategy[str]] = [st.text(max_size=20)]
    if near:
        options.insert(0, st.sampled_from(sorted(near)))
    return st.one_of(*options).filter(lambda k: k not in names)


_FORMAT_NEAR_MISSES = (
    "", "abc", "example.com/hook", "/relative/path", "ftp://example.com/a.png", "file:///tmp/a.png",
    "http://", "https:// example.com", "ws://localhost:9000/x", "data:image/png;base64,",
    "data:text/plain;base64,aGVsbG8=", "data:image/png,rawbytes", "c64351d5-4c59-42f7-95e1",
    "not-a-uuid", "iVBORw0KGgo=!", "YWJj",
)  # fmt: skip


def _not_matching(regexes: Sequence[re.Pattern[str]]) -> st.SearchStrategy[str]:
    def bad(s: str) -> bool:
        return not any(r.search(s) for r in regexes)

    options = st.one_of(
        st.sampled_from(_FORMAT_NEAR_MISSES),
        st.uuids(version=1).map(str),
        st.text(max_size=30),
    )
    return options.filter(bad)


def _too_long(high: int) -> st.SearchStrategy[str]:
    return st.tuples(st.text(min_size=1, max_size=8), st.integers(0, 3)).map(
        lambda p: p[0] * (high // len(p[0]) + 1) + p[0] * p[1]
    )


def _declared_type(path: str) -> str | list[str] | None:
    if path == "taskType":  # dispatched by the request schema, whose rule has the type
        kind: str | list[str] | None = _TASK_TYPE_RULE.get("type")
        return kind
    return _PARAMS[path].get("type")


def _with_dependency_satisfied(apply: _Apply, trigger: str) -> _Apply:
    """Keep a trigger's dependency satisfied (e.g. outputType absent or URL when mutating ttl)."""
    rules = [(other, const) for t, other, const in _DEPENDENCIES if t == trigger]

    def wrapped(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        for other, const in rules:
            _put(payload, other, draw(st.sampled_from([_ABSENT, const])))
        return apply(draw, payload)

    return wrapped


def _set_value(path: str, values: st.SearchStrategy[Any], reason: str) -> _Apply:
    def apply(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        _put(payload, path, draw(values))
        return path, reason

    return apply


def _set_item(path: str, values: st.SearchStrategy[Any], reason: str) -> _Apply:
    def apply(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        items = _get(payload, path)
        index = draw(st.integers(0, len(items) - 1))
        items[index] = draw(values)
        return f"{path}[{index}]", reason

    return apply


def _remove(path: str) -> _Apply:
    def apply(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        _put(payload, path, _ABSENT)
        return path, f"required {path} is missing"

    return apply


def _add_unknown(level: str, known: Iterable[str]) -> _Apply:
    keys = _unknown_keys(known)
    where = level or "the task"

    def apply(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        key = draw(keys)
        node = _get(payload, level) if level else payload
        node[key] = draw(_SCALARS)
        return _join(level, key), f"{where} has a key the schema does not define"

    return apply


def _bad_height() -> _Apply:
    def apply(draw: st.DrawFn, payload: Task) -> tuple[str, str]:
        width = payload[_WIDTH]
        near = sorted(_HEIGHTS | {h + 1 for h in _HEIGHTS} | {0})
        height = draw(st.one_of(st.sampled_from(near), st.integers()).filter(lambda h: (width, h) not in _SIZES))
        payload[_HEIGHT] = height
        return _HEIGHT, f"{_WIDTH} {width} is allowed but not with {_HEIGHT} {height}"

    return apply


def _mutations() -> tuple[_Mutation, ...]:
    out: list[_Mutation] = []
    triggers = {t for t, _, _ in _DEPENDENCIES}

    def add(kind: str, target: str, error_kind: str, apply: _Apply, present: Iterable[str] = ()) -> None:
        if target in triggers:
            apply = _with_dependency_satisfied(apply, target)
        need = {a for p in [*present, *_ancestors(target)] for a in [*_ancestors(p), p]}
        code = _code(runware_code(error_kind, target or None))
        out.append(_Mutation(kind, target, error_kind, code, apply, frozenset(need)))

    for level in ["", *(p for p, s in _PARAMS.items() if s.get("type") == "object")]:
        schema = _object_schema(level)
        for key in schema.get("required", ()):
            add("missing", _join(level, key), _C_MISSING, _remove(_join(level, key)), [level] if level else [])
        if schema.get("additionalProperties") is False:
            add(
                "unknown",
                level,
                _C_UNKNOWN,
                _add_unknown(level, schema.get("properties", {})),
                [level] if level else [],
            )

    for path, schema in _PARAMS.items():
        kind = _declared_type(path)
        if kind is not None:
            add("type", path, _C_TYPE, _set_value(path, _wrong_type(kind), f"{path} is not of type {kind}"))
        if path == "taskType":
            kind_of = _TASK_TYPE_RULE.get("x-errorKind", _C_VALUE)
            values = _not_in(_TASK_TYPE_RULE["enum"])
            add("enum", path, kind_of, _set_value(path, values, "taskType is not a known task type"))
        elif "enum" in schema or "const" in schema:
            allowed = schema.get("enum", [schema.get("const")])
            kind_of = schema.get("x-errorKind", _C_VALUE)
            add("enum", path, kind_of, _set_value(path, _not_in(allowed), f"{path} is not an allowed value"))
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is not None:
                bad = st.integers(max_value=low - 1)
                add("below", path, _C_RANGE, _set_value(path, bad, f"{path} is below its minimum {low}"))
            if high is not None:
                bad = st.integers(min_value=high + 1)
                add("above", path, _C_RANGE, _set_value(path, bad, f"{path} is above its maximum {high}"))
        if kind == "string":
            name = _def_name(_declared(path))
            if name is not None:
                reason = f"{path} is not {_DEFS[name].get('title', name)}"
                add("format", path, _C_FORMAT, _set_value(path, _not_matching(_def_regexes(name)), reason))
            low, high = schema.get("minLength", 0), schema.get("maxLength")
            if low > 0:
                reason = f"{path} is shorter than {low} characters"
                add("short", path, _C_LENGTH, _set_value(path, st.text(max_size=low - 1), reason))
            if high is not None:
                reason = f"{path} is longer than {high} characters"
                add("long", path, _C_LENGTH, _set_value(path, _too_long(high), reason))
        if kind == "array":
            item_name = _def_name(schema.get("items", {}))
            if item_name is None:
                raise SchemaError(f"strategies cannot generate the items of {path}")
            items = _def_strategy(item_name)
            low, high = schema.get("minItems", 0), schema.get("maxItems")
            if low > 0:
                bad_list = st.lists(items, max_size=low - 1)
                add("few", path, _C_LENGTH, _set_value(path, bad_list, f"{path} has fewer than {low} items"))
            if high is not None:
                bad_list = st.lists(items, min_size=high + 1, max_size=high + 3)
                add("many", path, _C_LENGTH, _set_value(path, bad_list, f"{path} has more than {high} items"))
            item_type = _DEFS[item_name].get("type", "string")
            reason = f"an item of {path} is not of type {item_type}"
            add("item-type", path, _C_TYPE, _set_item(path, _wrong_type(item_type), reason), [path])
            reason = f"an item of {path} is not {_DEFS[item_name].get('title', item_name)}"
            add("item-format", path, _C_FORMAT, _set_item(path, _not_matching(_def_regexes(item_name)), reason), [path])

    near_widths = sorted(_WIDTHS | {w + 1 for w in _WIDTHS} | {0})
    bad_widths = st.one_of(st.sampled_from(near_widths), st.integers()).filter(lambda w: w not in _WIDTHS)
    add("size", _WIDTH, _C_DIMENSIONS, _set_value(_WIDTH, bad_widths, f"no allowed size has this {_WIDTH}"))
    add("size", _HEIGHT, _C_DIMENSIONS, _bad_height())
    return tuple(out)


_MUTATIONS = _mutations()


@st.composite
def _invalid_case(draw: st.DrawFn, mutations: Sequence[_Mutation]) -> InvalidCase:
    mutation = draw(st.sampled_from(mutations))
    payload = draw(_base_tasks(mutation.present))
    parameter, reason = mutation.apply(draw, payload)
    return InvalidCase(payload, parameter, mutation.code, reason, mutation.error_kind)


def invalid_tasks(
    parameter: str | None = None, code: str | None = None, kind: str | None = None
) -> st.SearchStrategy[InvalidCase]:
    """Labelled invalid tasks: :class:`InvalidCase` with exactly one mistake each.

    Covers every rule of the schema: a missing required key, a wrong JSON type (of each
    parameter and of array items), a number below/above its range, a value outside an enum
    (``invalidModel`` for ``model``, ``unsupportedTaskType`` for ``taskType``), an unsupported
    width x height, a malformed UUID/URL/image reference, too few/many images, too short/long
    prompts, and an unknown key at each level (``unsupportedParameter``).

    ``parameter`` keeps only mistakes in that parameter (dotted path; for array items the
    array's path); ``code`` keeps only that Runware code (``invalidRemixStrength``); ``kind``
    keeps only that class of mistake (``outOfRange``). Shrinking keeps a case invalid, with a
    label that matches what the validator reports.
    """
    chosen = [
        m
        for m in _MUTATIONS
        if (parameter is None or m.target == parameter)
        and (code is None or m.code == code)
        and (kind is None or m.error_kind == kind)
    ]
    if not chosen:
        targets = sorted({m.target for m in _MUTATIONS if m.target})
        raise InvalidArgument(
            f"invalid_tasks(parameter={parameter!r}, code={code!r}, kind={kind!r}) matches no mistake; "
            f"parameters: {', '.join(targets)}"
        )
    return _invalid_case(tuple(chosen))
