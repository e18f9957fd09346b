"""ideogram-remix-kit: test Runware's Ideogram 1.0 Remix (``ideogram:1@2``) integrations offline.

Entry points:

- :func:`validate`, :func:`is_valid`, :func:`check`, :func:`assert_valid_payload`: check a task
  or request array against the bundled JSON Schema, with one precise error per mistake in
  Runware's dialect; :func:`validate` returns a :class:`ValidationResult` (a list of errors with
  ``warnings`` for what Runware accepts but ignores or deprecates).
- :class:`TaskError`: one error or warning, with Runware's error-item fields (``code``) and the
  kit's class of mistake (``kind``).
- :data:`ERROR_CODES`: the catalogue of error codes, with meaning and HTTP status.
- :mod:`ideogram_kit.schemas`: the bundled schema documents and the facts read from them.
- :mod:`ideogram_kit.strategies`: hypothesis strategies; :mod:`ideogram_kit.plugin`: the pytest plugin.
- the ``ideogram-kit`` command line (:mod:`ideogram_kit.cli`).

The names are loaded on first use (PEP 562): the pytest plugin lives in this package and is
imported by every pytest session of an environment that has the kit, and such a session must
not pay for jsonschema and the schemas unless it uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .errors import Error, ErrorCode, InvalidPayload, PayloadAssertionError, SchemaError, TaskError
    from .validation import ValidationResult, assert_valid_payload, check, is_valid, validate

    ERROR_CODES: Mapping[str, ErrorCode]

__all__ = [
    "ERROR_CODES",
    "Error",
    "InvalidPayload",
    "PayloadAssertionError",
    "SchemaError",
    "TaskError",
    "ValidationResult",
    "assert_valid_payload",
    "check",
    "is_valid",
    "validate",
]

_HOMES = {
    "Error": "errors",
    "InvalidPayload": "errors",
    "PayloadAssertionError": "errors",
    "SchemaError": "errors",
    "TaskError": "errors",
    "ValidationResult": "validation",
    "assert_valid_payload": "validation",
    "check": "validation",
    "is_valid": "validation",
    "validate": "validation",
}


def __getattr__(name: str) -> Any:
    if name == "ERROR_CODES":
        value: Any = importlib.import_module(".schemas", __name__).error_codes()
    elif name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
