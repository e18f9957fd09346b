"""Valid ``imageInference`` tasks: :func:`valid_tasks` and :func:`typed_tasks` (part of
:mod:`ideogram_kit.strategies`). A task is built from the schema, honouring pinned values and
strategies given per parameter, width and height drawn as an allowed pair.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from typing import Any, cast

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from jsonschema import Draft202012Validator

from . import schemas
from .strategy_values import (
    _ABSENT,
    _DEPENDENCIES,
    _HEIGHT,
    _PARAMS,
    _SIZES,
    _SPECIAL_TOP,
    _TOP_ORDER,
    _WIDTH,
    T,
    Task,
    _ancestors,
    _join,
    _leaf,
    _object_schema,
)
from .types import ImageInferenceTask

# ---------------------------------------------------------------------------------------------
# valid_tasks
# ---------------------------------------------------------------------------------------------


def _pointer(path: str) -> str:
    return schemas.uri("image-inference") + "#/properties/" + "/properties/".join(path.split("."))


def _check_pin(path: str, value: Any) -> None:
    if path in (_WIDTH, _HEIGHT):
        if type(value) is not int:
            raise InvalidArgument(f"valid_tasks({path}={value!r}): {path} must be an int")
        return
    validator = Draft202012Validator({"$ref": _pointer(path)}, registry=schemas.registry())
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        raise InvalidArgument(f"valid_tasks({path}={value!r}) is not a valid value: {error.message}")


class _Builder:
    """Builds the strategy of a task from the schema, honouring overrides and forced keys."""

    def __init__(self, overrides: Mapping[str, Any], present: Iterable[str] = ()) -> None:
        unknown = [p for p in overrides if p not in _PARAMS]
        if unknown:
            raise InvalidArgument(f"valid_tasks() got an unknown parameter {unknown[0]!r}; known: {', '.join(_PARAMS)}")
        self.pins: dict[str, Any] = {}
        self.overrides: dict[str, st.SearchStrategy[Any]] = {}
        for path, value in overrides.items():
            if isinstance(value, st.SearchStrategy):
                self.overrides[path] = value
            else:
                _check_pin(path, value)
                self.pins[path] = value
                self.overrides[path] = st.just(value).map(copy.deepcopy)
        self.forced = {a for p in [*overrides, *present] for a in [*_ancestors(p), p]}

    def value(self, path: str) -> st.SearchStrategy[Any]:
        if path in self.overrides:
            return self.overrides[path]
        if _PARAMS[path].get("type") == "object":
            return self.object(path)
        return _leaf(path)

    def object(self, path: str) -> st.SearchStrategy[dict[str, Any]]:
        schema = _object_schema(path)
        required = set(schema.get("required", ()))
        always: dict[str, st.SearchStrategy[Any]] = {}
        maybe: dict[str, st.SearchStrategy[Any]] = {}
        has_optional_objects = False
        for key in schema.get("properties", {}):
            child = _join(path, key)
            if path == "" and key in _SPECIAL_TOP:
                continue
            if _PARAMS[child].get("deprecated") and child not in self.forced:
                continue  # valid, but the validator warns: generated only when asked for
            value = self.value(child)
            if key in required or child in self.forced:
                always[key] = value
            elif _PARAMS[child].get("type") == "object":
                always[key] = _maybe_object(value)  # dropped below when absent
                has_optional_objects = True
            else:
                maybe[key] = value
        strategy = st.fixed_dictionaries(always, optional=maybe)
        return strategy.map(_drop_absent) if has_optional_objects else strategy

    def sizes(self) -> st.SearchStrategy[tuple[int, int]]:
        candidates = [(w, h) for w, h in _SIZES if self.pins.get(_WIDTH, w) == w and self.pins.get(_HEIGHT, h) == h]
        if not candidates:
            raise InvalidArgument(
                f"valid_tasks(): no allowed size has {_WIDTH}={self.pins.get(_WIDTH)!r}, "
                f"{_HEIGHT}={self.pins.get(_HEIGHT)!r}"
            )
        width_s = self.overrides.get(_WIDTH) if _WIDTH not in self.pins else None
        height_s = self.overrides.get(_HEIGHT) if _HEIGHT not in self.pins else None
        if width_s is None and height_s is None:
            return st.sampled_from(candidates)
        return _paired_sizes(tuple(candidates), width_s, height_s)

    def dependency(self, trigger: str, other: str, const: Any) -> st.SearchStrategy[dict[str, Any]]:
        other_s = self.value(other)
        trigger_s = self.value(trigger)
        trigger_forced = trigger in self.forced
        if trigger_forced and other in self.pins and self.pins[other] != const:
            # asked for explicitly: valid (Runware ignores the trigger), though the validator warns
            return st.tuples(other_s, trigger_s).map(lambda pair: {other: pair[0], trigger: pair[1]})
        if other not in self.forced:
            other_s = st.one_of(st.just(_ABSENT), other_s)
        if trigger_forced and other not in self.pins:
            other_s = other_s.filter(lambda o: o is _ABSENT or o == const)
        if not trigger_forced:
            trigger_s = st.one_of(st.just(_ABSENT), trigger_s)

        def fragment(pair: tuple[Any, Any]) -> dict[str, Any]:
            o, t = pair
            out = {} if o is _ABSENT else {other: o}
            if t is not _ABSENT and (o is _ABSENT or o == const):
                out[trigger] = t
            return out

        return st.tuples(other_s, trigger_s).map(fragment)

    def task(self) -> st.SearchStrategy[Task]:
        parts = [self.object(""), self.sizes().map(lambda wh: {_WIDTH: wh[0], _HEIGHT: wh[1]})]
        parts += [self.dependency(*rule) for rule in _DEPENDENCIES]
        return st.tuples(*parts).map(_assemble)


def _maybe_object(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """An optional object: absent one time in three (optional leaves are absent one in two).

    Nested settings are the point of this model, so they are present more often. ``one_of``
    merges identical branches; the extra weight comes from a distinct copy.
    """
    return st.one_of(st.just(_ABSENT), strategy, strategy.map(_identity))


def _drop_absent(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not _ABSENT}


def _identity(value: T) -> T:
    return value


def _assemble(parts: tuple[dict[str, Any], ...]) -> Task:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return {key: merged[key] for key in _TOP_ORDER if key in merged}


def _paired_sizes(
    candidates: tuple[tuple[int, int], ...],
    width_s: st.SearchStrategy[Any] | None,
    height_s: st.SearchStrategy[Any] | None,
) -> st.SearchStrategy[tuple[int, int]]:
    @st.composite
    def sizes(draw: st.DrawFn) -> tuple[int, int]:
        width = draw(width_s) if width_s is not None else draw(st.sampled_from(sorted({w for w, _ in candidates})))
        heights = [h for w, h in candidates if w == width]
        if not heights:
            reject()
        height = draw(height_s) if height_s is not None else draw(st.sampled_from(heights))
        if (width, height) not in candidates:
            reject()
        return width, height

    return sizes()


def valid_tasks(**overrides: Any) -> st.SearchStrategy[Task]:
    """``imageInference`` tasks for ``ideogram:1@2`` that :func:`ideogram_kit.validate` accepts.

    Reaches every enum value, every allowed size pair, both ends of every range, each
    optional key present and absent, every image-reference form and unicode prompts.

    Keyword arguments pin a parameter (``valid_tasks(outputType="base64Data")``) or give it a
    strategy (``valid_tasks(numberResults=st.integers(1, 4))``); nested parameters take their
    dotted path: ``valid_tasks(**{"providerSettings.ideogram.styleType": "ANIME"})``. A pinned
    parameter is always present, and pinned values are checked against the schema at once
    (``InvalidArgument`` if they break it). Values drawn from a strategy you pass are yours
    to keep valid. Pinning ``width`` limits the sizes to the pairs with that width.
    """
    return _Builder(overrides).task()


def typed_tasks() -> st.SearchStrategy[ImageInferenceTask]:
    """:func:`valid_tasks` typed as :class:`~ideogram_kit.types.ImageInferenceTask`."""
    return cast("st.SearchStrategy[ImageInferenceTask]", valid_tasks())


@functools.cache
def _base_tasks(present: frozenset[str]) -> st.SearchStrategy[Task]:
    return _Builder({}, present).task()
