"""Exceptions and the structured error record of the kit.

Hierarchy::

    Error                          base of everything the kit raises
    ├── SchemaError                a bundled schema file is missing or broken
    ├── InvalidPayload             a payload failed validation; ``.errors`` holds them all
    │   └── PayloadAssertionError  the same, raised by assertion helpers (an AssertionError,
    │                              so pytest reports it as a test failure)
    └── UnansweredRunwareRequest   a test reached for Runware's API and no fixture answered
                                   (:mod:`ideogram_kit.network_guard`; an AssertionError too)

:class:`TaskError` is not an exception: it is one entry of a validation report, the same
record the mock server sends as an ``errors[]`` item (see :meth:`TaskError.to_dict`). Its
``code`` is Runware's (``invalidRemixStrength``); its ``kind`` is the kit's stable class of the
mistake (``outOfRange``), see :mod:`ideogram_kit.codes`. A :class:`TaskError` whose ``severity``
is ``"warning"`` describes something the real API accepts but that has no effect or is
deprecated; warnings never make a payload invalid.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Error",
    "ErrorCode",
    "InvalidPayload",
    "PayloadAssertionError",
    "SchemaError",
    "TaskError",
    "describe_value",
]

#: Strings longer than this are shortened when echoed back as ``value``.
_MAX_ECHO = 120
_MISSING: Any = object()


class Error(Exception):
    """Base class of every exception the kit raises."""


class SchemaError(Error):
    """A bundled schema file is missing, unreadable or not a valid JSON Schema."""


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the error-code catalogue (read from ``schema/error.schema.json``)."""

    name: str
    http_status: int
    description: str
    #: How strongly public sources show that Runware sends it: docs, sdk, seen, seen-pattern,
    #: third-party or kit-only (``x-evidence`` in the catalogue).
    evidence: str = "kit-only"


@dataclass(frozen=True)
class TaskError:
    """One validation or protocol error, with Runware's error-item fields.

    ``parameter`` is a dotted path into the task (``providerSettings.ideogram.remixStrength``,
    ``inputs.referenceImages[0]``); ``task_index`` is the task's position in the request array.
    ``code`` is the code Runware sends (``invalidRemixStrength``); ``kind`` is the kit's class of
    the mistake (``outOfRange``, ``invalidType``, ``missingParameter``, ...: stable across
    parameters, for code that branches on what went wrong), the code itself when not given.
    """

    code: str
    message: str
    parameter: str | None = None
    kind: str = ""
    documentation: str | None = None
    severity: Literal["error", "warning"] = "error"
    task_index: int | None = None
    task_uuid: str | None = None
    task_type: str | None = None
    value: Any = field(default=_MISSING, repr=False)
    type: str | None = None
    allowed_values: tuple[Any, ...] | None = None
    allowed_sizes: tuple[tuple[int, int], ...] | None = None
    min: float | None = None
    max: float | None = None
    suggestion: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.code)

    @property
    def is_warning(self) -> bool:
        """Whether this is a warning (the payload is still valid), not an error."""
        return self.severity == "warning"

    @property
    def has_value(self) -> bool:
        """Whether the error is about a value that was sent (not about a missing one)."""
        return self.value is not _MISSING

    def to_dict(self) -> dict[str, Any]:
        """The error as a Runware ``errors[]`` item (JSON-ready, camelCase keys)."""
        item: dict[str, Any] = {"code": self.code, "message": self.message}
        optional: list[tuple[str, Any]] = [
            ("parameter", self.parameter),
            ("taskType", self.task_type),
            ("taskUUID", self.task_uuid),
            ("documentation", self.documentation),
            ("type", self.type),
            ("min", self.min),
            ("max", self.max),
            ("suggestion", self.suggestion),
            ("hint", self.hint),
        ]
        for key, val in optional:
            if val is not None:
                item[key] = val
        if self.allowed_values is not None:
            item["allowedValues"] = list(self.allowed_values)
        if self.allowed_sizes is not None:
            item["allowedSizes"] = [{"width": w, "height": h} for w, h in self.allowed_sizes]
        if self.has_value:
            item["value"] = _echo(self.value)
        return item

    def __str__(self) -> str:
        where = f"{self.parameter}: " if self.parameter else ""
        return f"{where}{self.message} [{self.code}]"


def _echo(value: Any) -> Any:
    """A JSON-safe, bounded rendering of an offending value."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value if len(value) <= _MAX_ECHO else value[: _MAX_ECHO - 1] + "…"
    return describe_value(value)


_repr = reprlib.Repr()
_repr.maxother = 60
_repr.maxlevel = 2


def describe_value(value: Any) -> str:
    """A short human rendering of a JSON value for messages: ``150``, ``"ANIMEE"``, ``an object``."""
    if isinstance(value, Mapping):
        return "an object" if value else "an empty object"
    if isinstance(value, Sequence) and not isinstance(value, str):
        n = len(value)
        return f"an array of {n} item{'s' if n != 1 else ''}" if n else "an empty array"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        short = value if len(value) <= 60 else value[:59] + "…"
        return json.dumps(short, ensure_ascii=False)
    return _repr.repr(value)


class InvalidPayload(Error, ValueError):
    """A payload failed validation. ``errors`` lists every :class:`TaskError` found."""

    def __init__(self, errors: Sequence[TaskError]) -> None:
        self.errors: tuple[TaskError, ...] = tuple(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.errors)
        head = f"{n} validation error{'s' if n != 1 else ''} in payload"
        lines = [head]
        for err in self.errors:
            where = []
            if err.task_index is not None:
                where.append(f"task {err.task_index}")
            if err.task_uuid:
                where.append(err.task_uuid)
            prefix = f"[{' '.join(where)}] " if where else ""
            hint = f" ({err.hint})" if err.hint else ""
            lines.append(f"  {prefix}{err}{hint}")
        return "\n".join(lines)


class PayloadAssertionError(InvalidPayload, AssertionError):
    """Raised by assertion helpers; pytest shows it as an ordinary assertion failure."""
