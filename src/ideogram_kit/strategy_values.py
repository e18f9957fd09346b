"""Leaf values of ``ideogram:1@2`` payloads, and the facts the strategies read from the schema.

Part of :mod:`ideogram_kit.strategies` (which re-exports the public names): every bound, enum,
size pair, pattern and dependency is read from ``schema/*.schema.json`` here, at import; a schema
shape the generator does not understand raises :class:`~ideogram_kit.errors.SchemaError`.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from hypothesis import strategies as st

from . import schemas
from .errors import SchemaError

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
