"""Hypothesis strategies for ``ideogram:1@2`` payloads, generated from the bundled schema.

Entry points:

- :func:`valid_tasks` (``**overrides`` pin a field or give it a strategy): ``imageInference``
  tasks that :func:`ideogram_kit.validate` accepts.
- :func:`invalid_tasks`: :class:`InvalidCase` objects, a task with exactly one mistake plus
  the ``parameter`` and ``code`` the validator must report for it, and a short ``reason``.
- :func:`requests`: whole request arrays (tasks, ``getResponse``, ``getTaskDetails``, ``ping``,
  ``authentication``).
- :func:`responses`: response envelopes as the mock sends them (results, acknowledgements,
  poll states, error lists, pongs).
- :func:`image_references`: every form an input image may take (UUID, URL, data URI, base64
  of a real PNG/JPEG/WEBP).
- :func:`sample`: ``n`` examples of a strategy, the same ones for the same seed.

Every bound, enum, size pair, required list, pattern and dependency is read from
``schema/*.schema.json`` when this module is imported; a schema shape the generator does
not understand raises :class:`~ideogram_kit.errors.SchemaError` here rather than
producing wrong payloads later.

An invalid case is built as *one* mutation of a valid task. The mutation (its kind and its
target parameter) is drawn first; the bad value comes from a strategy that only yields bad
values for that rule, and the mutation never touches another parameter's rule. So every
example hypothesis shrinks to is still invalid, for the reason its label gives.
"""

from __future__ import annotations

import base64
import copy
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as _seed
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from jsonschema import Draft202012Validator

from . import schemas
from .codes import runware_code
from .errors import SchemaError
from .types import ImageInferenceTask
from .validation import validate

__all__ = [
    "InvalidCase",
    "image_references",
    "invalid_tasks",
    "requests",
    "responses",
    "sample",
    "typed_tasks",
    "valid_tasks",
]

T = TypeVar("T")
JSON = Any
Task = dict[str, Any]


class _Absent:
    """Marks an optional key left out (``None`` is a JSON value, so it cannot)."""

    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT: Any = _Absent()


# ---------------------------------------------------------------------------------------------
# Facts read from the schema at import
# ---------------------------------------------------------------------------------------------

_TASK = schemas.load("image-inference")
_DEFS: Mapping[str, Any] = schemas.load("common")["$defs"]
_PARAMS = schemas.task_parameters()
_SIZES: tuple[tuple[int, int], ...] = schemas.allowed_sizes()
_SIZE_RULE: Mapping[str, Any] = _TASK["$defs"]["allowedSizes"]
_WIDTH, _HEIGHT = tuple(_SIZE_RULE["anyOf"][0]["properties"])
_WIDTHS = frozenset(w for w, _ in _SIZES)
_HEIGHTS = frozenset(h for _, h in _SIZES)
_TASK_TYPE_RULE: Mapping[str, Any] = schemas.load("request")["$defs"]["task"]["properties"]["taskType"]
_REQUEST_DEFS: Mapping[str, Any] = schemas.load("request")["$defs"]
_RESULT_DEFS: Mapping[str, Any] = schemas.load("result")["$defs"]
_COMMON_REF = "common.schema.json#/$defs/"


def _code(name: str) -> str:
    """A catalogue code, checked to exist in ``schema/error.schema.json``."""
    if name not in schemas.error_codes():
        raise SchemaError(f"the strategies label cases with {name!r}, which the error catalogue lacks")
    return name


# the kinds of mistake (TaskError.kind); the wire code follows from kind and parameter (codes.runware_code)
_C_MISSING = "missingParameter"
_C_TYPE = "invalidType"
_C_VALUE = "invalidValue"
_C_RANGE = "outOfRange"
_C_LENGTH = "invalidLength"
_C_FORMAT = "invalidFormat"
_C_UNKNOWN = "unknownParameter"
_C_DIMENSIONS = _SIZE_RULE.get("x-errorKind", "unsupportedDimensions")


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _object_schema(path: str) -> Mapping[str, Any]:
    return _TASK if path == "" else _PARAMS[path]


def _declared(path: str) -> Mapping[str, Any]:
    """The parameter's schema as written (``$ref`` not merged)."""
    schema: Mapping[str, Any] = _object_schema(_parent(path))["properties"][path.rpartition(".")[2]]
    return schema


def _def_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMMON_REF):
        return ref[len(_COMMON_REF) :]
    return None


def _branch_defs(name: str) -> list[str]:
    """The ``common`` definitions a definition stands for: itself, or its ``anyOf`` branches."""
    definition = _DEFS[name]
    if "pattern" in definition:
        return [name]
    branches = definition.get("anyOf")
    if not branches or not all(str(b.get("$ref", "")).startswith("#/$defs/") for b in branches):
        raise SchemaError(f"strategies cannot generate common $defs/{name}: expected a pattern or an anyOf of $refs")
    return [n for b in branches for n in _branch_defs(b["$ref"][len("#/$defs/") :])]


def _def_regexes(name: str) -> tuple[re.Pattern[str], ...]:
    # re.search, as jsonschema applies "pattern", so "$" also matches before a final newline
    return tuple(re.compile(_DEFS[n]["pattern"]) for n in _branch_defs(name))


def _dependencies() -> tuple[tuple[str, str, Any], ...]:
    """``(trigger, other, const)`` for each ``x-appliesWhen`` rule: trigger takes effect only when
    other == const (else the validator warns), so valid tasks keep to it."""
    rules = []
    for trigger, rule in _TASK["properties"].items():
        applies = rule.get("x-appliesWhen")
        if applies is None:
            continue
        if not isinstance(applies, dict) or len(applies) != 1:
            raise SchemaError(f"strategies cannot generate {trigger}'s x-appliesWhen: expected one parameter")
        ((other, const),) = applies.items()
        rules.append((trigger, other, const))
    return tuple(rules)


_DEPENDENCIES = _dependencies()
_TOP_ORDER = tuple(_TASK["properties"])
_SPECIAL_TOP = frozenset({_WIDTH, _HEIGHT} | {p for rule in _DEPENDENCIES for p in rule[:2]})

#: Where each output type's image comes back in a result (protocol knowledge; the keys are
#: checked against result.schema.json below).
_RESULT_FIELD = {"URL": "imageURL", "base64Data": "imageBase64Data", "dataURI": "imageDataURI"}
_RESULT_PROPS = _RESULT_DEFS["imageResult"]["properties"]
if set(_RESULT_FIELD) != set(_PARAMS["outputType"]["enum"]) or not set(_RESULT_FIELD.values()) <= set(_RESULT_PROPS):
    raise SchemaError("outputType values or result image fields changed; update strategies._RESULT_FIELD")


# ---------------------------------------------------------------------------------------------
# Leaf values
# ---------------------------------------------------------------------------------------------

_PILLOW_FORMAT = {"JPG": "JPEG"}
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_IMAGE_SIZES = (8, 16, 32)
_PALETTE = ((220, 40, 60), (30, 144, 255), (250, 250, 210))


@functools.cache
def _image(fmt: str, index: int) -> bytes:
    """A small real image (Pillow), made once: ``index`` picks size and colour."""
    from PIL import Image, ImageDraw

    size = _IMAGE_SIZES[index % len(_IMAGE_SIZES)]
    colour = _PALETTE[index // len(_IMAGE_SIZES) % len(_PALETTE)]
    image = Image.new("RGB", (size, size), colour)
    ImageDraw.Draw(image).rectangle((0, 0, size // 2, size // 2), fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=80)
    return buffer.getvalue()


_N_IMAGES = len(_IMAGE_SIZES) * len(_PALETTE)


def _image_bytes(fmt: str | None = None) -> st.SearchStrategy[tuple[str, bytes]]:
    """``(pillow_format, bytes)`` of a tiny real image, any format or the one given."""
    formats = st.sampled_from(sorted(_MIME)) if fmt is None else st.just(fmt)
    return st.tuples(formats, st.integers(0, _N_IMAGES - 1)).map(lambda p: (p[0], _image(p[0], p[1])))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_HOSTS = (
    "example.com",
    "hooks.example.org",
    "my-bucket.s3.amazonaws.com",
    "storage.googleapis.com",
    "127.0.0.1:8080",
    "localhost:9000",
    "[::1]:8443",
)
_BASES = tuple(f"{scheme}://{host}/" for host in _HOSTS for scheme in ("https", "http"))
_PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%/?=&#é日"


def _urls(extension: str | None = None) -> st.SearchStrategy[str]:
    """Absolute http(s) URLs: a realistic host, then any path/query (two draws, for speed)."""
    suffix = f".{extension}" if extension else ""
    paths = st.text(_PATH_CHARS, max_size=24)
    return st.tuples(st.sampled_from(_BASES), paths).map(lambda p: f"{p[0]}{p[1]}{suffix}")


def _uuid_strings(version: Literal[1, 2, 3, 4, 5] | None = None) -> st.SearchStrategy[str]:
    """UUID strings, one in eight upper-cased (the patterns allow either case)."""
    uuids = st.uuids(version=version) if version else st.uuids()
    return uuids.map(lambda u: str(u).upper() if u.int & 0b111 == 0 else str(u))


def _data_uris() -> st.SearchStrategy[str]:
    return _image_bytes().map(lambda p: f"data:{_MIME[p[0]]};base64,{_b64(p[1])}")


def _raw_base64() -> st.SearchStrategy[str]:
    return _image_bytes().map(lambda p: _b64(p[1]))


#: How each ``common`` definition with a pattern is generated (generating from the regex
#: would be slow and unrealistic); tests check every output against the pattern.
_DEF_STRATEGIES: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "uuid": _uuid_strings,
    "uuidV4": lambda: _uuid_strings(4),
    "httpUrl": _urls,
    "imageDataUri": _data_uris,
    "base64": _raw_base64,
}


@functools.cache
def _def_strategy(name: str) -> st.SearchStrategy[str]:
    leaves = _branch_defs(name)
    missing = [n for n in leaves if n not in _DEF_STRATEGIES]
    if missing:
        raise SchemaError(f"strategies cannot generate common $defs/{missing[0]}")
    if len(leaves) == 1:
        return _DEF_STRATEGIES[leaves[0]]()
    # an image reference given as a URL usually names an image file
    return st.one_of(*(_urls("png") if n == "httpUrl" else _DEF_STRATEGIES[n]() for n in leaves))


def image_references() -> st.SearchStrategy[str]:
    """Every form of input image the schema allows (UUID, URL, data URI, raw base64 of a real image)."""
    name = _def_name(_PARAMS["inputs.referenceImages"]["items"])
    if name is None:
        raise SchemaError("inputs.referenceImages items must $ref a common definition")
    return _def_strategy(name)


_PROMPTS = (
    "Transform this design into a futuristic cyberpunk aesthetic",
    "A watercolor poster of the same logo, bold typography, soft sunset palette",
    "Café sign in vintage Art Déco style ✨",
    "日本の庭園、水彩画風",
    "수채화 스타일의 도시 풍경",
    "Ρετρό αφίσα με νέον 🌸",
    "مرحبا بالعالم، ملصق بأسلوب البوب آرت",
    'Keep the "SALE" lettering\nbut make it neon\tand glowing 🎨',
)


def _prompts(low: int, high: int | None) -> st.SearchStrategy[str]:
    """Realistic prompts, arbitrary unicode text, and (when bounded) the longest allowed."""
    phrases = [p for p in _PROMPTS if low <= len(p) <= (high if high is not None else len(p))]
    parts: list[st.SearchStrategy[str]] = [st.text(min_size=low, max_size=max(low, min(high or 60, 60)))]
    if phrases:
        parts.insert(0, st.sampled_from(phrases))
    if high is not None and high >= 1:  # exactly at the limit
        parts.append(st.text(min_size=1, max_size=8).map(lambda s: (s * (high // len(s) + 1))[:high]))
    return st.one_of(*parts)


def _integers(low: int | None, high: int | None) -> st.SearchStrategy[int]:
    """Integers in [low, high], each end about one time in ten (one draw, clamped)."""
    if low is None and high is None:
        return st.integers()
    span = (high - low) if low is not None and high is not None else 40
    margin = max(2, span // 8)
    wide_low = None if low is None else low - margin
    wide_high = None if high is None else high + margin

    def clamp(n: int) -> int:
        if low is not None and n < low:
            return low
        return high if high is not None and n > high else n

    return st.integers(wide_low, wide_high).map(clamp)


def _leaf(path: str) -> st.SearchStrategy[Any]:
    merged = _PARAMS[path]
    if "const" in merged:
        return st.just(merged["const"])
    if "enum" in merged:  # values only the general reference lists would warn: not generated
        return st.sampled_from(merged.get("x-modelPageEnum", merged["enum"]))
    name = _def_name(_declared(path))
    if name is not None:
        return _def_strategy(name)
    kind = merged.get("type")
    if kind == "integer":
        return _integers(merged.get("minimum"), merged.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "string" and "pattern" not in merged:
        return _prompts(merged.get("minLength", 0), merged.get("maxLength"))
    if kind == "array":
        item = _def_name(merged.get("items", {}))
        if item is not None:
            return st.lists(_def_strategy(item), min_size=merged.get("minItems", 0), max_size=merged.get("maxItems"))
    raise SchemaError(f"strategies cannot generate parameter {path!r} from its schema")


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


# ---------------------------------------------------------------------------------------------
# requests and responses
# ---------------------------------------------------------------------------------------------


def _auth_tasks() -> st.SearchStrategy[dict[str, Any]]:
    rule = _REQUEST_DEFS["authentication"]
    key = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=32)
    session = _def_strategy(_def_name(rule["properties"]["connectionSessionUUID"]) or "uuid")
    return st.fixed_dictionaries(
        {"taskType": st.just(rule["properties"]["taskType"]["const"]), "apiKey": key},
        optional={"connectionSessionUUID": session},
    )


def _ping_tasks() -> st.SearchStrategy[dict[str, Any]]:
    rule = _REQUEST_DEFS["ping"]
    return st.fixed_dictionaries(
        {"taskType": st.just(rule["properties"]["taskType"]["const"])}, optional={"ping": st.just(True)}
    )


@st.composite
def _requests(draw: st.DrawFn, max_tasks: int) -> list[dict[str, Any]]:
    images = draw(st.lists(valid_tasks(), max_size=max_tasks, unique_by=lambda t: str(t["taskUUID"]).lower()))
    poll_types = st.sampled_from([_REQUEST_DEFS[k]["properties"]["taskType"]["const"]
                                  for k in ("getResponse", "getTaskDetails")])  # fmt: skip
    known = [t["taskUUID"] for t in images]
    poll_uuids = st.one_of(st.sampled_from(known), _uuid_strings(4)) if known else _uuid_strings(4)
    poll = st.builds(lambda kind, u: {"taskType": kind, "taskUUID": u}, poll_types, poll_uuids)
    polls = draw(st.lists(poll, max_size=2))
    pings = draw(st.lists(_ping_tasks(), max_size=1))
    body = draw(st.permutations([*images, *polls, *pings]))
    if not body:
        body = [draw(_ping_tasks())]
    if draw(st.booleans()):
        body.insert(0, draw(_auth_tasks()))
    return body


def requests(max_tasks: int = 3) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Whole request arrays that :func:`ideogram_kit.validate` accepts.

    Up to ``max_tasks`` ``imageInference`` tasks (distinct ``taskUUID``s), ``getResponse`` polls
    (of those tasks or of others), a ``ping``, and maybe an ``authentication`` task first.
    """
    return _requests(max_tasks)


_SEEDS = st.integers(_RESULT_PROPS["seed"].get("minimum", 0), 2**63 - 1)  # Runware seeds are int64
_COSTS = st.integers(0, 10**6).map(lambda n: n / 10**5)


def _image_result(draw: st.DrawFn, task: Mapping[str, Any], polled: bool) -> dict[str, Any]:
    output_type = task.get("outputType", _PARAMS["outputType"]["default"])
    output_format = task.get("outputFormat", _PARAMS["outputFormat"]["default"])
    image_uuid = draw(_uuid_strings(4))
    item: dict[str, Any] = {"taskType": task["taskType"], "taskUUID": task["taskUUID"], "imageUUID": image_uuid}
    if polled:
        item["status"] = _RESULT_PROPS["status"]["const"]
    fmt = _PILLOW_FORMAT.get(output_format, output_format)
    image_field = _RESULT_FIELD[output_type]
    if image_field == "imageURL":
        item[image_field] = f"https://im.runware.ai/image/ws/2/ii/{image_uuid.lower()}.{output_format.lower()}"
    else:
        _, data = draw(_image_bytes(fmt))
        encoded = _b64(data)
        item[image_field] = encoded if image_field == "imageBase64Data" else f"data:{_MIME[fmt]};base64,{encoded}"
    item["seed"] = draw(_SEEDS)
    safety = task.get("safety", {})
    if safety.get("checkContent") or safety.get("mode", "none") != "none":
        item["NSFWContent"] = draw(st.booleans())
    if task.get("includeCost"):
        item["cost"] = draw(_COSTS)
    return item


def _state(task: Mapping[str, Any], processing: bool) -> dict[str, Any]:
    item = {"taskType": task["taskType"], "taskUUID": task["taskUUID"]}
    if processing:
        item["status"] = "processing"
    return item


_RESPONSE_KINDS = ("sync", "frame", "ack", "poll", "errors", "pong", "authentication")


@st.composite
def _responses(draw: st.DrawFn, task: Mapping[str, Any] | None, kinds: tuple[str, ...]) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    if kind == "pong":
        return {"data": [{"taskType": "ping", "pong": True}]}
    if kind == "authentication":
        return {"data": [{"taskType": "authentication", "connectionSessionUUID": draw(_uuid_strings(4))}]}
    if kind == "errors":
        case = draw(invalid_tasks())
        return {"errors": [e.to_dict() for e in validate([case.payload])]}
    the_task = task if task is not None else draw(valid_tasks())
    count = the_task.get("numberResults", _PARAMS["numberResults"].get("default", 1))
    if kind == "sync":
        return {"data": [_image_result(draw, the_task, False) for _ in range(count)]}
    if kind == "frame":
        return {"data": [_image_result(draw, the_task, False)]}
    if kind == "ack":
        return {"data": [_state(the_task, draw(st.booleans()))]}
    done = draw(st.integers(0, count))
    items = [_image_result(draw, the_task, True) for _ in range(done)]
    if done < count:
        items.append(_state(the_task, True))
    return {"data": items}


def responses(
    task: Mapping[str, Any] | None = None, kinds: Iterable[str] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Response envelopes as the mock sends them; each validates against ``response.schema.json``.

    A sync answer (one image item per ``numberResults``, the image field following
    ``outputType``, ``NSFWContent`` with safety on, ``cost`` with ``includeCost``), a
    one-image frame, an async acknowledgement, a ``getResponse`` state (finished items with
    ``status: success`` and a ``processing`` marker), an ``errors`` list (the validator's
    errors for a generated invalid task), a pong, or an authentication reply. Results belong
    to ``task`` when given, else to a task drawn from :func:`valid_tasks`.

    ``kinds`` keeps some of ``sync``, ``frame``, ``ack``, ``poll``, ``errors``, ``pong``,
    ``authentication`` (default: all).
    """
    chosen = tuple(kinds) if kinds is not None else _RESPONSE_KINDS
    unknown = [k for k in chosen if k not in _RESPONSE_KINDS]
    if unknown or not chosen:
        raise InvalidArgument(f"responses(kinds=...) takes some of {', '.join(_RESPONSE_KINDS)}; got {chosen!r}")
    return _responses(task, chosen)


# ---------------------------------------------------------------------------------------------
# Reproducible sampling
# ---------------------------------------------------------------------------------------------


def sample(strategy: st.SearchStrategy[T], n: int, *, seed: int) -> list[T]:
    """``n`` examples of ``strategy``, the same list for the same ``seed`` (and hypothesis version).

    Runs hypothesis' generate phase under ``@seed``, with no example database, so the draws
    depend on nothing but the seed. Do not call it from inside a ``@given`` test.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    found: list[T] = []
    round_ = 0
    while len(found) < n:
        want = n - len(found)

        @_seed(seed * 1_000_003 + round_)
        @settings(
            database=None,
            max_examples=want,
            phases=[Phase.generate],
            derandomize=False,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
        )
        @given(strategy)
        def collect(example: T) -> None:
            found.append(example)

        before = len(found)
        collect()
        if len(found) == before:  # pragma: no cover - a strategy that never yields
            raise ValueError("the strategy produced no examples")
        round_ += 1
    return found[:n]


st.register_type_strategy(ImageInferenceTask, typed_tasks())
