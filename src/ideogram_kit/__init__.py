"""ideogram-remix-kit: test Runware's Ideogram 1.0 Remix (``ideogram:1@2``) integrations offline.

Entry points:

- :func:`validate`, :func:`is_valid`, :func:`check`, :func:`assert_valid_payload`: check a task
  or request array against the bundled JSON Schema, with one precise error per mistake.
- :class:`TaskError`: one error, with Runware's error-item fields.
- :data:`ERROR_CODES`: the catalogue of error codes, with meaning and HTTP status.
- :mod:`ideogram_kit.schemas`: the bundled schema documents and the facts read from them.
- the ``ideogram-kit`` command line (:mod:`ideogram_kit.cli`).
"""

from .errors import Error, InvalidPayload, PayloadAssertionError, SchemaError, TaskError
from .schemas import error_codes as _error_codes
from .validation import assert_valid_payload, check, is_valid, validate

ERROR_CODES = _error_codes()

__all__ = [
    "ERROR_CODES",
    "Error",
    "InvalidPayload",
    "PayloadAssertionError",
    "SchemaError",
    "TaskError",
    "assert_valid_payload",
    "check",
    "is_valid",
    "validate",
]
