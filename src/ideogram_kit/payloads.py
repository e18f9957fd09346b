"""Reading JSON payloads from bytes with errors a person can act on.

Python's ``json`` accepts ``NaN`` and ``Infinity``, keeps the last of duplicate keys, crashes
with ``RecursionError`` on deep nesting and reports positions only for syntax errors.
:func:`parse_json` turns every such case into one :class:`JSONInputError` carrying a message
and, where it can be known, the line and column. Nesting deeper than ``max_depth`` (default
:data:`MAX_DEPTH`) is always refused, and cheaply: the document is parsed first by the C parser
(which gives up with ``RecursionError`` long before a hostile depth costs anything), then the
depth of what it built is measured (a walk over its arrays and objects, not over the text).
The text is scanned for a position only in the error path, and only up to :data:`SCAN_LIMIT`
characters: parsing time stays linear and small whatever the body.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Error

__all__ = ["MAX_DEPTH", "JSONInputError", "parse_json", "position"]

#: Deepest nesting accepted by default; deeper documents are rejected before Python's parser recurses.
MAX_DEPTH = 256
#: Longest text scanned for the line and column of a nesting or NaN error (about 40 ms per MiB).
SCAN_LIMIT = 1024 * 1024

# A string token is "unrolled" (runs of plain characters between escapes, no alternation inside the
# loop) and its closing quote is optional: an unterminated string (a body of escaped quotes, say)
# is one token to the end of the text, never retried from every later quote. The scan is linear.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]|-?Infinity|NaN', re.DOTALL)


class JSONInputError(Error, ValueError):
    """The input is not a JSON document the kit accepts."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(message + where)


@dataclass(frozen=True)
class _Problem:
    message: str
    offset: int


class _NonStandardConstant(ValueError):
    pass


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]], key_table: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``object_pairs_hook``: a JSON object, refusing a key given twice (JSON leaves it undefined).

    With ``key_table``, a key found in it is replaced by the table's string: a server holding a
    thousand parsed tasks then holds each known key name once. Other keys stay as parsed (not
    interned: on some CPython versions interned strings live forever, and keys come from clients).
    """
    obj = dict(pairs) if key_table is None else {key_table.get(key, key): value for key, value in pairs}
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _scan(text: str, max_depth: int) -> _Problem | None:
    """Find the first non-standard constant or over-deep nesting, outside strings."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return _Problem(f"JSON nested deeper than {max_depth} levels", match.start())
        elif token in ("]", "}"):
            depth -= 1
        elif not token.startswith('"'):
            return _Problem(f"{token} is not valid JSON (JSON has no NaN or Infinity)", match.start())
    return None


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


class _HugeNumber(ValueError):
    pass


def _finite_float(text: str) -> float:
    """``parse_float``: a number too large for a float (``1e400``) is an error, not Infinity."""
    value = float(text)
    if math.isinf(value):
        raise _HugeNumber(text)
    return value


def _problem(text: str, problem: _Problem) -> JSONInputError:
    line, column = position(text, problem.offset)
    return JSONInputError(problem.message, line, column)


def _located(text: str, max_depth: int, fallback: str) -> JSONInputError:
    """The error the scanner finds, with its position; past SCAN_LIMIT, ``fallback`` without one."""
    problem = _scan(text, max_depth) if len(text) <= SCAN_LIMIT else None
    return _problem(text, problem) if problem is not None else JSONInputError(fallback)


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether parsed ``value`` nests arrays/objects more than ``max_depth`` deep (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


_DECODERS: dict[int, tuple[Mapping[str, str] | None, json.JSONDecoder]] = {}


def _decoder(key_table: Mapping[str, str] | None) -> json.JSONDecoder:
    """The strict decoder for ``key_table`` (made once per table: a decoder is costly to build)."""
    found = _DECODERS.get(id(key_table))
    if found is not None and found[0] is key_table:
        return found[1]
    hook = _unique_keys if key_table is None else functools.partial(_unique_keys, key_table=key_table)
    decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=hook)
    if len(_DECODERS) >= 16:  # tables are long-lived (one per schema): this never grows in practice
        _DECODERS.clear()
    _DECODERS[id(key_table)] = (key_table, decoder)
    return decoder


def parse_json(data: bytes | str, *, max_depth: int = MAX_DEPTH, key_table: Mapping[str, str] | None = None) -> Any:
    """Parse one JSON document strictly, nested at most ``max_depth`` arrays/objects deep.

    ``key_table`` maps known key names to the string objects to use for them (see
    :func:`_unique_keys`). Raises :class:`JSONInputError` on anything else.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode()  # utf-8, then the BOM dropped (cheaper than the utf-8-sig codec)
            if text.startswith("\ufeff"):
                text = text[1:]
        except UnicodeDecodeError as exc:
            prefix = data[: exc.start].decode("utf-8", "replace")
            line, column = position(prefix, len(prefix))
            raise JSONInputError(
                f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}", line, column
            ) from None
    else:
        text = data
    if not text.strip():
        raise JSONInputError("empty input: expected a JSON task object or an array of tasks")
    if text.startswith("\ufeff"):  # json.loads says so; a decoder's decode() would only say "Expecting value"
        raise JSONInputError("invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)", 1, 1)
    too_deep = f"JSON nested deeper than {max_depth} levels"
    try:
        value = _decoder(key_table).decode(text)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except _DuplicateKey as exc:
        key = json.dumps(str(exc.args[0]), ensure_ascii=False)
        raise JSONInputError(f"duplicate key {key} in one JSON object (its meaning would be ambiguous)") from None
    except _HugeNumber as exc:
        raise JSONInputError(f"the number {str(exc.args[0])[:40]} is too large for a JSON number") from None
    except _NonStandardConstant as exc:
        raise _located(text, max_depth, f"{exc.args[0]} is not valid JSON (JSON has no NaN or Infinity)") from None
    except RecursionError:
        raise _located(text, max_depth, too_deep) from None
    except ValueError as exc:  # e.g. integers with more digits than int() accepts
        raise JSONInputError(f"invalid JSON: {exc}") from None
    if (
        isinstance(value, (dict, list))
        # small texts: counting brackets is the cheaper test; large ones: a walk over the containers built
        and (len(text) > SCAN_LIMIT or text.count("[") + text.count("{") > max_depth)
        and _deeper_than(value, max_depth)
    ):
        raise _located(text, max_depth, too_deep)
    return value
