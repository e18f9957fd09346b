"""``ideogram-kit contract``: check the mock against a real target, for free.

A task that fails validation is never run, so Runware bills nothing for it. :func:`cases` builds
one labelled invalid task per kind of mistake the kit knows (every parameter's bounds, enums,
types, formats and lengths, unknown keys at each level, sizes, missing parameters) plus an
invalid-API-key case; :func:`run` sends each to the target and the same to an in-process mock,
and compares the two answers: HTTP status (or "frame" over WebSocket), error ``code``,
``parameter``, the fields present, and the message's pattern (its quoted values and numbers
masked). Only invalid tasks are sent unless ``spend`` allows valid ones (then the result shapes
are compared too, and each image is decoded and checked for its size and format).

The target is asked politely: one request at a time, ``delay`` seconds apart, with exponential
backoff on 429 and 5xx, within a total ``time_limit``. An unreachable target, a refused API key
or the time limit raise :class:`ContractAborted` (the CLI's exit 2, one line).

``record`` keeps what the target answered (no API key, no secret) in the format
:mod:`ideogram_mock.fidelity` reads, so ``ideogram-kit serve --fidelity FILE`` answers like it.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import io
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import schemas
from .validation import validate

__all__ = [
    "DEFAULT_BASE_URL",
    "INVALID_KEY",
    "Case",
    "ContractAborted",
    "Outcome",
    "cases",
    "compare",
    "record",
    "run",
]

DEFAULT_BASE_URL = "https://api.runware.ai/v1"
#: The API key of the invalid-key case: no real key looks like it.
INVALID_KEY = "ideogram-kit-contract-invalid-key"
_RECORD_FORMAT = "ideogram-kit-contract/1"
_TRANSIENT = frozenset({429, 500, 502, 503, 504})


class ContractAborted(Exception):
    """The run cannot go on: the target is unreachable, refused the key, or the time ran out."""


@dataclass(frozen=True)
class Case:
    """One request sent to both sides: ``name``, the mistake's ``kind`` and ``parameter``."""

    name: str
    kind: str
    parameter: str
    body: list[dict[str, Any]]
    api_key: str | None = None  # None: the user's key
    billable: bool = False


@dataclass
class Outcome:
    """Both answers to one case and how they compare."""

    case: Case
    mock: dict[str, Any]
    target: dict[str, Any]
    differences: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.differences


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------


def _docs_example() -> dict[str, Any]:
    example: dict[str, Any] = schemas.load("image-inference")["examples"][0]
    return copy.deepcopy(example)


def cases(spend: int = 0, seed: int = 0) -> list[Case]:
    """The labelled invalid cases (one per kind of mistake and parameter), the invalid-key case and
    ``spend`` valid tasks (billable: one image each, URL output)."""
    from . import strategies  # hypothesis: only when cases are built

    found: list[Case] = []
    seen: set[tuple[str, str]] = set()
    for mutation in strategies._MUTATIONS:
        label = (mutation.error_kind, mutation.target)
        if label in seen:
            continue
        seen.add(label)
        (invalid,) = strategies.sample(
            strategies.invalid_tasks(parameter=mutation.target, kind=mutation.error_kind), 1, seed=seed + len(found)
        )
        found.append(Case(f"{invalid.kind} {invalid.parameter}", invalid.kind, invalid.parameter, [invalid.payload]))
    bad_key = _docs_example()
    bad_key["taskUUID"] = str(uuid.uuid4())
    bad_key["providerSettings"]["ideogram"]["remixStrength"] = 150  # invalid too: never run, whatever the key
    found.append(Case("invalidApiKey apiKey", "invalidApiKey", "apiKey", [bad_key], api_key=INVALID_KEY))
    for n in range(spend):
        task = _docs_example()
        task.update(taskUUID=str(uuid.uuid4()), numberResults=1, outputType="URL", deliveryMethod="sync")
        found.append(Case(f"valid task {n + 1}", "valid", "", [task], billable=True))
    for case in found:
        if not case.billable:
            assert validate(case.body), f"contract case {case.name} would be billable"
    return found


# ---------------------------------------------------------------------------------------------
# Comparing answers
# ---------------------------------------------------------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def message_pattern(message: str) -> str:
    """A message with its quoted values and numbers masked: what stays is the wording."""
    return _NUMBER.sub("N", _QUOTED.sub("'…'", message))


def _first_error(answer: Mapping[str, Any]) -> Mapping[str, Any] | None:
    body = answer.get("body")
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else None


def compare(mock: Mapping[str, Any], target: Mapping[str, Any], billable: bool = False) -> list[str]:
    """What differs between the mock's answer and the target's (empty when they agree)."""
    out: list[str] = []
    if mock.get("status") != target.get("status"):
        out.append(f"status: mock {mock.get('status')}, target {target.get('status')}")
    mine, theirs = _first_error(mock), _first_error(target)
    if (mine is None) != (theirs is None):
        out.append(f"errors: mock {'none' if mine is None else 'some'}, target {'none' if theirs is None else 'some'}")
    if mine is not None and theirs is not None:
        for key in ("code", "parameter"):
            if mine.get(key) != theirs.get(key):
                out.append(f"{key}: mock {mine.get(key)!r}, target {theirs.get(key)!r}")
        if set(mine) != set(theirs):
            only_mock, only_target = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
            out.append(f"fields: only the mock has {only_mock}, only the target has {only_target}")
        if message_pattern(str(mine.get("message", ""))) != message_pattern(str(theirs.get("message", ""))):
            out.append(f"message: mock {mine.get('message')!r}, target {theirs.get('message')!r}")
    if billable:
        out.extend(_compare_results(mock, target))
    return out


def _compare_results(mock: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    mine = (mock.get("body") or {}).get("data") or []
    theirs = (target.get("body") or {}).get("data") or []
    if len(mine) != len(theirs):
        return [f"results: mock {len(mine)}, target {len(theirs)}"]
    for a, b in zip(mine, theirs, strict=True):
        if set(a) != set(b):
            out.append(
                f"result fields: only the mock has {sorted(set(a) - set(b))}, the target {sorted(set(b) - set(a))}"
            )
        for key in set(a) & set(b):
            if type(a[key]) is not type(b[key]):
                out.append(f"result {key}: mock {type(a[key]).__name__}, target {type(b[key]).__name__}")
    for problem in target.get("imageProblems", []):
        out.append(f"target image: {problem}")
    return out


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


class _Polite:
    """One request at a time, ``delay`` apart, backing off on 429/5xx, within ``deadline``."""

    def __init__(self, delay: float, backoff: float, retries: int, deadline: float, sleep: Callable[[float], None]):
        self.delay, self.backoff, self.retries, self.deadline, self.sleep = delay, backoff, retries, deadline, sleep
        self.last = -float("inf")

    def wait(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.deadline:
            raise ContractAborted("the time limit ran out before every case was sent (see --time-limit)")
        if seconds > 0:
            self.sleep(seconds)

    def send(self, attempt: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        self.wait(max(0.0, self.last + self.delay - time.monotonic()))
        for n in range(self.retries + 1):
            self.last = time.monotonic()
            answer = attempt()
            if answer.get("status") not in _TRANSIENT or n == self.retries:
                return answer
            self.wait(self.backoff * 2**n)
        return answer  # pragma: no cover - the loop always returns


def _rest_attempt(client: httpx.Client, url: str, case: Case, api_key: str) -> Callable[[], dict[str, Any]]:
    def attempt() -> dict[str, Any]:
        try:
            response = client.post(url, json=case.body, headers={"Authorization": f"Bearer {api_key}"})
        except httpx.HTTPError as exc:
            raise ContractAborted(f"the target {url} cannot be reached: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:500]}
        return {"status": response.status_code, "body": body}

    return attempt


def _ws_url(base_url: str) -> str:
    return "ws" + base_url.removeprefix("http")


def _ws_attempt(ws: Any, case: Case, timeout: float) -> Callable[[], dict[str, Any]]:
    def attempt() -> dict[str, Any]:
        uuids = {t.get("taskUUID") for t in case.body if isinstance(t, dict)}
        ws.send(json.dumps(case.body))
        while True:
            try:
                frame = json.loads(ws.recv(timeout=timeout))
            except TimeoutError:
                return {"status": "no answer", "body": {}}
            items = [*frame.get("errors", []), *frame.get("data", [])]
            if any(i.get("taskUUID") in uuids or i.get("taskType") == "authentication" for i in items) or not uuids:
                return {"status": "frame", "body": frame}

    return attempt


def _mock_answers(case_list: Sequence[Case], api_key: str) -> list[dict[str, Any]]:
    """Each case's answer from a fresh in-process mock (no socket)."""
    from ideogram_mock import MockConfig, create_app

    async def ask() -> list[dict[str, Any]]:
        app = create_app(MockConfig(rejected_api_key=INVALID_KEY))
        transport = httpx.ASGITransport(app=app)
        answers = []
        async with httpx.AsyncClient(transport=transport, base_url="http://mock.localhost") as client:
            for case in case_list:
                key = case.api_key or api_key
                response = await client.post("/v1", json=case.body, headers={"Authorization": f"Bearer {key}"})
                answers.append({"status": response.status_code, "body": response.json()})
        return answers

    return asyncio.run(ask())


def _check_images(client: httpx.Client, body: Mapping[str, Any], task: Mapping[str, Any]) -> list[str]:
    from PIL import Image

    problems = []
    for item in body.get("data", []) if isinstance(body, dict) else []:
        url = item.get("imageURL")
        if not isinstance(url, str):
            problems.append(f"result {item.get('imageUUID')} has no imageURL")
            continue
        try:
            image = Image.open(io.BytesIO(client.get(url).content))
            image.load()
        except Exception as exc:  # a target's bytes: anything can be wrong with them
            problems.append(f"{url} does not decode as an image: {exc}")
            continue
        wanted = (task.get("width"), task.get("height"))
        if image.size != wanted:
            problems.append(f"{url} is {image.size[0]}x{image.size[1]}, asked {wanted[0]}x{wanted[1]}")
        fmt = {"JPG": "JPEG"}.get(str(task.get("outputFormat", "JPG")), str(task.get("outputFormat", "JPG")))
        if image.format != fmt:
            problems.append(f"{url} is {image.format}, asked {fmt}")
    return problems


def run(
    case_list: Sequence[Case],
    *,
    base_url: str = DEFAULT_BASE_URL,
    api_key: str,
    transport: str = "rest",
    delay: float = 0.5,
    backoff: float = 1.0,
    retries: int = 4,
    time_limit: float = 300.0,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """Send every case to the target and to an in-process mock; the outcomes, in case order."""
    mock = _mock_answers(case_list, api_key)
    polite = _Polite(delay, backoff, retries, time.monotonic() + time_limit, sleep)
    answers: list[dict[str, Any]] = []
    with httpx.Client(timeout=timeout) as client:
        if transport == "ws":
            answers = _run_ws(case_list, base_url, api_key, polite, timeout)
        else:
            for case in case_list:
                answer = polite.send(_rest_attempt(client, base_url, case, case.api_key or api_key))
                if answer["status"] == 401 and case.api_key is None:
                    raise ContractAborted(f"the target refused the API key (HTTP 401 on case {case.name!r})")
                if case.billable:
                    answer["imageProblems"] = _check_images(client, answer["body"], case.body[0])
                answers.append(answer)
    return [
        Outcome(
            case,
            mine,
            theirs,
            compare(mine if transport == "rest" else {**mine, "status": "frame"}, theirs, case.billable),
        )
        for case, mine, theirs in zip(case_list, mock, answers, strict=True)
    ]


def _run_ws(
    case_list: Sequence[Case], base_url: str, api_key: str, polite: _Polite, timeout: float
) -> list[dict[str, Any]]:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    answers: list[dict[str, Any]] = []
    try:
        with connect(_ws_url(base_url), open_timeout=timeout) as ws:
            ws.send(json.dumps([{"taskType": "authentication", "apiKey": api_key}]))
            hello = json.loads(ws.recv(timeout=timeout))
            if "errors" in hello:
                raise ContractAborted(f"the target refused the API key: {hello['errors'][0].get('message', '')}")
            for case in case_list:
                if case.api_key is not None:  # a key is per socket: the invalid-key case gets its own
                    answers.append(_ws_bad_key(base_url, case, timeout))
                    continue
                answers.append(polite.send(_ws_attempt(ws, case, timeout)))
    except (OSError, WebSocketException) as exc:
        raise ContractAborted(
            f"the target {_ws_url(base_url)} cannot be reached: {type(exc).__name__}: {exc}"
        ) from None
    return answers


def _ws_bad_key(base_url: str, case: Case, timeout: float) -> dict[str, Any]:
    from websockets.sync.client import connect

    with connect(_ws_url(base_url), open_timeout=timeout) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": case.api_key}]))
        return {"status": "frame", "body": json.loads(ws.recv(timeout=timeout))}


# ---------------------------------------------------------------------------------------------
# Reporting and recording
# ---------------------------------------------------------------------------------------------


def report_text(outcomes: Sequence[Outcome], base_url: str) -> str:
    lines = [f"{'case':58} verdict"]
    for outcome in outcomes:
        lines.append(f"{outcome.case.name[:58]:58} {'agree' if outcome.agrees else 'DIFFER'}")
        for difference in outcome.differences:
            lines.append(f"    {difference}")
    differ = sum(1 for o in outcomes if not o.agrees)
    lines.append(f"{len(outcomes)} cases against {base_url}: {len(outcomes) - differ} agree, {differ} differ")
    return "\n".join(lines) + "\n"


def report_json(outcomes: Sequence[Outcome], base_url: str) -> str:
    document = {
        "target": base_url,
        "agree": sum(1 for o in outcomes if o.agrees),
        "differ": sum(1 for o in outcomes if not o.agrees),
        "cases": [
            {
                "name": o.case.name,
                "kind": o.case.kind,
                "parameter": o.case.parameter,
                "agrees": o.agrees,
                "differences": o.differences,
                "mock": o.mock,
                "target": o.target,
            }
            for o in outcomes
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def report_github(outcomes: Sequence[Outcome], base_url: str) -> str:
    lines = []
    for o in outcomes:
        if not o.agrees:
            text = "; ".join(o.differences).replace("%", "%25").replace("\n", "%0A")
            lines.append(f"::error title=contract differs ({o.case.name})::{text}")
    return "".join(line + "\n" for line in lines) + report_text(outcomes, base_url).splitlines()[-1] + "\n"


def record(outcomes: Sequence[Outcome], base_url: str, path: str | Path) -> None:
    """Write what the target answered (never the API key) in the format ``serve --fidelity`` reads."""
    from ideogram_mock.records import redacted

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    document = {
        "format": _RECORD_FORMAT,
        "target": base_url,
        "recordedAt": now,
        "cases": [
            {
                "name": o.case.name,
                "kind": o.case.kind,
                "parameter": o.case.parameter,
                "request": redacted(o.case.body),
                "status": o.target.get("status"),
                "response": o.target.get("body"),
            }
            for o in outcomes
            if not o.case.billable
        ],
    }
    Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
