"""Answers learnt from a real target: ``serve --fidelity FILE`` replays what production said.

``ideogram-kit contract --record FILE`` sends the kit's labelled invalid cases to a target (by
default Runware's API) and saves what it answered, one entry per case: the mistake's ``kind``
and ``parameter`` as the kit labels it, the HTTP status, and the first error item. Loaded here,
such a file makes the mock answer a mistake of the same kind on the same parameter with the
recorded ``code``, ``message``, ``parameter`` and other fields (the task's own ``taskUUID`` and
``taskType`` kept), and with the recorded status. Mistakes the file does not cover keep the
kit's own answer. The kit ships no recording of its own: a recording is only ever what a real
target answered.

File format (JSON)::

    {"format": "ideogram-kit-contract/1", "target": "https://api.runware.ai/v1",
     "recordedAt": "2026-11-30T05:00:00Z",
     "cases": [{"name": "outOfRange providerSettings.ideogram.remixStrength",
                "kind": "outOfRange", "parameter": "providerSettings.ideogram.remixStrength",
                "request": [...], "status": 400, "response": {"data": [], "errors": [{...}]}}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ideogram_kit.errors import TaskError

__all__ = ["FORMAT", "FidelityError", "FidelityTable", "load"]

FORMAT = "ideogram-kit-contract/1"
#: Error-item keys taken from a recording; the task's own ``taskUUID`` and ``taskType`` are kept.
_TAKEN = ("code", "message", "parameter", "documentation", "type", "min", "max", "allowedValues")


class FidelityError(ValueError):
    """A fidelity file is missing, not JSON, or not in the recording format."""


@dataclass(frozen=True)
class _Answer:
    status: int
    item: Mapping[str, Any]


@dataclass(frozen=True)
class FidelityTable:
    """Recorded answers by ``(kind, parameter)``, and the status of each recorded code."""

    answers: Mapping[tuple[str, str], _Answer] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.answers)

    def apply(self, error: TaskError) -> TaskError:
        """``error`` as the recorded target answered a mistake of its kind on its parameter."""
        answer = self.answers.get((error.kind, error.parameter or ""))
        if answer is None:
            return error
        item = answer.item
        changes: dict[str, Any] = {
            "code": str(item.get("code", error.code)),
            "message": str(item.get("message", error.message)),
            "parameter": item.get("parameter", error.parameter),
            "documentation": item.get("documentation"),
            "type": item.get("type"),
            "min": item.get("min"),
            "max": item.get("max"),
            "allowed_values": tuple(item["allowedValues"]) if isinstance(item.get("allowedValues"), list) else None,
            "allowed_sizes": None,
            "suggestion": None,
            "hint": None,
        }
        if not isinstance(changes["parameter"], str):
            changes["parameter"] = error.parameter
        return replace(error, **changes)

    def status(self, code: str) -> int | None:
        """The recorded HTTP status of a request failing with ``code`` alone, if recorded."""
        for answer in self.answers.values():
            if answer.item.get("code") == code:
                return answer.status
        return None


def load(path: str | Path) -> FidelityTable:
    """The table of a recording made by ``ideogram-kit contract --record`` (raises FidelityError)."""
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise FidelityError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise FidelityError(f"{path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FidelityError(f"{path}: not a recording of ideogram-kit contract (format {FORMAT!r})")
    answers: dict[tuple[str, str], _Answer] = {}
    for case in document.get("cases", []):
        if not isinstance(case, dict):
            continue
        response, kind = case.get("response"), case.get("kind")
        errors = response.get("errors") if isinstance(response, dict) else None
        if not isinstance(kind, str) or not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
            continue  # a case the target accepted, or answered without an error item: nothing to replay
        status = case.get("status")
        answers[(kind, str(case.get("parameter") or ""))] = _Answer(
            status if isinstance(status, int) else 400, errors[0]
        )
    return FidelityTable(answers)
