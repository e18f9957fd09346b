"""What the mock answers and keeps about a request: error items, replies, the request log's views.

- :func:`error_item`: an ``errors[]`` item of the catalogue; :class:`Reply`: a transport's answer.
- :func:`for_log`: a body as the request log keeps it (image data shortened); :func:`log_cost`:
  the bytes an entry is counted for against ``request_log_bytes``; :func:`redacted`: a request
  with its API keys hidden (the log, the dashboard and getTaskDetails never show a secret).
- :class:`CheckResult` and :func:`check_report`: the validation of a request, and its view in the log;
  :func:`engine_rules`: what the mock checks beyond the schema (taskUUID conflicts, outbound targets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ideogram_kit.codes import documentation_url
from ideogram_kit.errors import TaskError

from .delivery import check_target

__all__ = [
    "INJECTED_CODES",
    "INLINE_LOG_LIMIT",
    "REQUEST_FAULT_MESSAGES",
    "CheckResult",
    "Reply",
    "check_report",
    "engine_rules",
    "error_item",
    "for_log",
    "log_cost",
    "redacted",
]

#: Error codes the fault plan injects; only these give a 5xx status.
INJECTED_CODES = frozenset({"providerError", "timeoutProvider"})


INLINE_LOG_LIMIT = 64 * 1024  # request bodies up to this size are kept verbatim in the log


_LOG_IMAGE_CHARS = 1024  # longer imageBase64Data / imageDataURI values are not kept in the log


def for_log(body: Any) -> Any:
    """``body`` as the request log keeps it: image data longer than 1 KiB becomes a short note.

    The image itself stays at ``/images/<imageUUID>.<ext>`` for its ttl; the log's memory is then
    bounded by its number of entries, not by the sizes of the images that went through it. A part
    with nothing to shorten is kept as it is, not copied (bodies are not changed once answered).
    """
    if isinstance(body, list):
        items = [for_log(item) for item in body]
        return body if all(new is old for new, old in zip(items, body, strict=True)) else items
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    changed = False
    for key, value in body.items():
        if key in ("imageBase64Data", "imageDataURI") and isinstance(value, str) and len(value) > _LOG_IMAGE_CHARS:
            out[key] = f"(omitted from the log: {len(value)} characters)"
        elif isinstance(value, (dict, list)):
            out[key] = for_log(value)
        else:
            out[key] = value
        changed = changed or out[key] is not value
    return out if changed else body


def log_cost(entry: Mapping[str, Any]) -> int:
    """Bytes a request-log entry is counted for: its body as kept, and an estimate of the rest."""
    body = entry.get("body")
    # a body kept parsed costs about four times its wire size in Python objects (4.25x measured with
    # tracemalloc for a 64 KiB body of unknown keys)
    cost = 256 + (4 * entry.get("bodyBytes", 0) if isinstance(body, list) else 64)
    response = entry.get("response")
    frames = response if isinstance(response, list) else [response]
    for frame in frames:
        if isinstance(frame, dict):
            cost += 768 * sum(len(v) for v in frame.values() if isinstance(v, list))
    for task in entry.get("tasks", ()):
        # an error item with its message and lists: ~1.5 KiB here, ~0.75 KiB as the answer's copy
        # (both measured with tracemalloc for unsupportedParameter, whose message lists the parameters)
        cost += 128 + 1536 * (len(task["errors"]) + len(task["warnings"]))
    return cost


#: Messages of the request-level faults (``request_failure_code``, ``fail_next``), by code.
REQUEST_FAULT_MESSAGES = {
    "insufficientCredits": "Insufficient credits: the account balance cannot pay for this request.",
    "forbidden": "The API key does not have permission for this request.",
    "rateLimitExceeded": "Queue capacity exceeded; retry with exponential backoff.",
    "serviceUnavailable": "Temporary capacity constraint; retry with exponential backoff.",
    "queueTimeout": "The request exceeded the maximum queue wait; retry with exponential backoff.",
}


def redacted(tasks: Any) -> Any:
    """A request array with API keys replaced: the request log, the dashboard and getTaskDetails never
    show a secret. Anything else (a non-list body) is returned as it is."""
    if not isinstance(tasks, list) or not any(isinstance(t, dict) and "apiKey" in t for t in tasks):
        return tasks
    return [{**t, "apiKey": "<redacted>"} if isinstance(t, dict) and "apiKey" in t else t for t in tasks]


def error_item(code: str, message: str, **fields: Any) -> dict[str, Any]:
    """An ``errors[]`` item of the catalogue ``code`` (keyword names as :class:`TaskError`'s)."""
    return TaskError(code=code, message=message, **fields).to_dict()


class CheckResult(dict[int, list[TaskError]]):
    """:meth:`MockEngine.check`'s result: errors by task index, and the request's ``warnings``."""

    warnings: tuple[TaskError, ...] = ()


def check_report(tasks: list[Any], found: Mapping[int, list[TaskError]]) -> list[dict[str, Any]]:
    """The request log's view of :meth:`MockEngine.check`'s result: each task, valid or its errors,
    and its warnings (things the real API accepts but ignores or deprecates)."""
    warnings: dict[int | None, list[dict[str, Any]]] = {}
    for warning in getattr(found, "warnings", ()):
        warnings.setdefault(warning.task_index, []).append(warning.to_dict())
    return [
        {
            "index": i,
            "taskType": t.get("taskType") if isinstance(t, dict) else None,
            "taskUUID": t.get("taskUUID") if isinstance(t, dict) else None,
            "valid": i not in found,
            "errors": [e.to_dict() for e in found.get(i, [])],
            "warnings": warnings.get(i, []),
        }
        for i, t in enumerate(tasks)
    ]


def engine_rules(task: Mapping[str, Any], index: int, known: bool, allow: tuple[str, ...]) -> list[TaskError]:
    """The mock's own rules for a schema-valid ``imageInference`` task at ``index``: its taskUUID is not
    one the server still ``known``s (``conflictTaskUUID``), its webhook and upload targets are allowed
    (``forbiddenOutboundTarget``, see :func:`~ideogram_mock.delivery.check_target` and ``allow``)."""
    problems: list[TaskError] = []
    base = {"task_index": index, "task_uuid": task["taskUUID"], "task_type": "imageInference"}
    if known:
        problems.append(
            TaskError(
                code="conflictTaskUUID",
                message=f"Conflicting taskUUID '{task['taskUUID']}': a task the server still knows already "
                "uses it. Every task needs its own UUID v4.",
                documentation=documentation_url("taskUUID"),
                type="string",
                parameter="taskUUID",
                value=task["taskUUID"],
                hint="give every task its own uuid4(), or POST /_mock/reset",
                **base,
            )
        )
    for name in ("webhookURL", "uploadEndpoint"):
        if name in task and (why := check_target(task[name], allow)) is not None:
            problems.append(
                TaskError(
                    code="forbiddenOutboundTarget",
                    message=why,
                    parameter=name,
                    value=task[name],
                    hint="use a loopback URL, or add the host to outbound_allow",
                    **base,
                )
            )
    return problems


@dataclass
class Reply:
    """What a transport sends back for one request: HTTP status, envelope, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
