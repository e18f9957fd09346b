"""Warnings: what the real API accepts, but a careful user should hear about.

The model page is the kit's source of truth for *errors*; Runware's general reference and its
clients allow a little more. Three outcomes follow: an error (the model page forbids it), a
warning (the model page is silent, the general reference allows more, or the parameter is
deprecated) and ok. The warning rules are annotations of ``schema/image-inference.schema.json``,
read here once:

- ``"deprecated": true`` (with ``x-replacedBy``): ``deprecatedParameter`` (``checkNSFW``);
- ``"x-appliesWhen": {"outputType": "URL"}``: ``ineffectiveParameter`` when the task's
  ``outputType`` (or its default) is another value (``ttl`` with base64 output);
- ``"x-modelPageEnum": [...]``: ``undocumentedValue`` for a value the schema allows (from the
  general reference) but the model page does not list (``safety.mode: "full"``).

Warnings are :class:`~ideogram_kit.errors.TaskError` records with ``severity == "warning"``;
they never make a payload invalid. :func:`may_warn` is the rules compiled into one expression:
the validator's fast path asks it first (a few dictionary look-ups) and builds warnings only when
it says yes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import schemas
from .codes import documentation_url
from .errors import TaskError, describe_value

__all__ = ["WARNING_CODES", "may_warn", "task_warnings", "warning_test"]

#: The warning codes, each with what it means.
WARNING_CODES: Mapping[str, str] = {
    "deprecatedParameter": "A deprecated parameter Runware still takes; x-replacedBy names its successor.",
    "ineffectiveParameter": "A parameter that takes effect only with another setting, which this task lacks.",
    "undocumentedValue": "A value Runware's general reference allows but the model page does not list.",
}

_Rule = tuple[str, tuple[str, ...], str, Mapping[str, Any]]


@functools.cache
def _rules() -> tuple[_Rule, ...]:
    rules: list[_Rule] = []
    for path, schema in schemas.task_parameters().items():
        segments = tuple(path.split("."))
        if schema.get("deprecated"):
            rules.append(("deprecatedParameter", segments, path, schema))
        if "x-appliesWhen" in schema:
            rules.append(("ineffectiveParameter", segments, path, schema))
        if "x-modelPageEnum" in schema:
            rules.append(("undocumentedValue", segments, path, schema))
    return tuple(rules)


@functools.cache
def warning_test() -> Callable[[Mapping[str, Any]], bool]:
    """``f(task) -> bool``, false only when :func:`task_warnings` finds nothing (the rules as one expression)."""
    namespace: dict[str, Any] = {"_Mapping": Mapping}
    terms = []
    for n, (code, segments, _, schema) in enumerate(_rules()):
        node, present = "t", []
        for segment in segments:  # the task itself is a mapping; a node under it may be anything
            present.append(
                f"{segment!r} in {node}" if node == "t" else f"isinstance({node}, _Mapping) and {segment!r} in {node}"
            )
            node = f"{node}[{segment!r}]"
        if code == "ineffectiveParameter":
            namespace[f"_w{n}"] = {
                other: (_default(other), wanted) for other, wanted in schema["x-appliesWhen"].items()
            }
            present.append(f"any(t.get(o, d) != w for o, (d, w) in _w{n}.items())")
        elif code == "undocumentedValue":
            namespace[f"_w{n}"] = schema["x-modelPageEnum"]
            present.append(f"{node} not in _w{n}")
        terms.append("(" + " and ".join(present) + ")")
    exec(f"def may_warn(t):\n    return {' or '.join(terms) or 'False'}", namespace)  # each term is a bool
    test: Callable[[Mapping[str, Any]], bool] = namespace["may_warn"]
    return test


def may_warn(task: Mapping[str, Any]) -> bool:
    """True when ``task`` may have warnings; false means :func:`task_warnings` would find none."""
    return warning_test()(task)


def _lookup(task: Mapping[str, Any], segments: Sequence[str]) -> Any:
    node: Any = task
    for segment in segments:
        if not isinstance(node, Mapping) or segment not in node:
            return _ABSENT
        node = node[segment]
    return node


_ABSENT = object()


def _default(path: str) -> Any:
    return schemas.task_parameters()[path].get("default")


def task_warnings(task: Mapping[str, Any], index: int | None = None) -> list[TaskError]:
    """The warnings of one valid ``imageInference`` task (``index``: its place in the request)."""
    found: list[TaskError] = []
    for code, segments, path, schema in _rules():
        value = _lookup(task, segments)
        if value is _ABSENT:
            continue
        message = hint = None
        if code == "deprecatedParameter":
            successor = schema.get("x-replacedBy")
            message = f"'{path}' is deprecated" + (f"; use {successor} instead." if successor else ".")
            hint = f"replace {path} with {successor}" if successor else f"remove {path}"
        elif code == "ineffectiveParameter":
            unmet = []
            for other, wanted in schema["x-appliesWhen"].items():
                actual = task.get(other, _default(other))
                if actual != wanted:
                    unmet.append(f"{other} is {describe_value(wanted)} (this task has {describe_value(actual)})")
            if unmet:
                message = f"'{path}' takes effect only when {' and '.join(unmet)}; it is ignored."
                hint = f"remove {path}, or set " + ", ".join(f"{o} to {describe_value(w)}"
                                                           for o, w in schema["x-appliesWhen"].items())  # fmt: skip
        elif value not in schema["x-modelPageEnum"]:
            listed = ", ".join(map(str, schema["x-modelPageEnum"]))
            message = (f"{describe_value(value)} for '{path}' comes from Runware's general reference; the "
                       f"ideogram:1@2 model page lists only {listed}.")  # fmt: skip
            hint = f"use one of {listed}"
        if message is None:
            continue
        found.append(
            TaskError(
                code=code,
                message=message,
                parameter=path,
                severity="warning",
                task_index=index,
                task_uuid=task.get("taskUUID") if isinstance(task.get("taskUUID"), str) else None,
                task_type="imageInference",
                documentation=documentation_url(path),
                value=value,
                hint=hint,
            )
        )
    return found
