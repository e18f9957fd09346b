"""Whole requests and responses: :func:`requests` and :func:`responses` (part of
:mod:`ideogram_kit.strategies`): request arrays mixing task types, and the envelopes the mock sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .strategy_mistakes import invalid_tasks
from .strategy_tasks import valid_tasks
from .strategy_values import (
    _MIME,
    _PARAMS,
    _PILLOW_FORMAT,
    _REQUEST_DEFS,
    _RESULT_FIELD,
    _RESULT_PROPS,
    _b64,
    _def_name,
    _def_strategy,
    _image_bytes,
    _uuid_strings,
)
from .validation import validate

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
