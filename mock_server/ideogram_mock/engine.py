"""The transport-agnostic core of the mock: :class:`MockEngine` owns all state.

Tasks, issued images, the request log, delivery attempts, the fault plan and the rate
limiter live in one engine object; HTTP (:mod:`ideogram_mock.app`) and any other transport
are thin layers that call it. Background work (simulated latency, webhooks, uploads) runs as
asyncio tasks on the caller's event loop, tracked by the engine; :meth:`MockEngine.aclose`
finishes or cancels them.

Entry points for transports:

- :meth:`MockEngine.handle_rest`: one ``POST /v1`` body in, a :class:`Reply` out (status,
  envelope, headers) — the whole REST protocol.
- :meth:`MockEngine.admit`, :meth:`MockEngine.authenticate`, :meth:`MockEngine.check`: rate
  limit, API key and validation, for transports that dispatch tasks themselves;
  :meth:`MockEngine.parse`, :meth:`MockEngine.too_many_tasks` and
  :meth:`MockEngine.too_many_images` apply the request limits (JSON depth, tasks, images).
- :meth:`MockEngine.submit` (background) and :meth:`MockEngine.run` (inline) start a valid
  ``imageInference`` task and return its :class:`TaskRun`; ``async for item in run.stream()``
  yields each result item as soon as it is ready (or the error item).
- :meth:`MockEngine.get_response`: a ``getResponse`` answer as ``(data, errors)``.
- :meth:`MockEngine.log_request`: the request log, for transports other than REST.
- :meth:`MockEngine.image`: the bytes behind an ``imageURL``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from ideogram_kit import schemas
from ideogram_kit.codes import AUTHENTICATION_DOCS, documentation_url
from ideogram_kit.errors import TaskError
from ideogram_kit.payloads import JSONInputError, parse_json
from ideogram_kit.validation import validate

from . import protocol
from .config import ConfigError, MockConfig
from .delivery import Deliverer, DeliveryAttempt, Job, check_target
from .faults import FaultPlan, RateLimiter, TaskFate
from .fidelity import FidelityError, FidelityTable
from .fidelity import load as load_fidelity
from .images import ImageRecipe, ImageRenderer, data_uri
from .retention import TaskStore

__all__ = ["INJECTED_CODES", "REQUEST_FAULT_MESSAGES", "CheckResult", "MockEngine", "Reply", "TaskRun"]

#: Error codes the fault plan injects; only these give a 5xx status.
INJECTED_CODES = frozenset({"providerError", "timeoutProvider"})
_INLINE_LOG_LIMIT = 64 * 1024  # request bodies up to this size are kept verbatim in the log
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


def _fidelity_table(config: MockConfig) -> FidelityTable:
    if config.fidelity_file is None:
        return FidelityTable()
    try:
        return load_fidelity(config.fidelity_file)
    except FidelityError as exc:
        raise ConfigError(f"fidelity_file: {exc}") from None


def _log_cost(entry: Mapping[str, Any]) -> int:
    """Bytes a request-log entry is counted for: its body as kept, and an estimate of the rest."""
    body = entry.get("body")
    cost = 256 + (entry.get("bodyBytes", 0) if isinstance(body, list) else 64)
    response = entry.get("response")
    frames = response if isinstance(response, list) else [response]
    for frame in frames:
        if isinstance(frame, dict):
            cost += 512 * sum(len(v) for v in frame.values() if isinstance(v, list))
    for task in entry.get("tasks", ()):
        cost += 128 + 512 * (len(task["errors"]) + len(task["warnings"]))
    return cost


def _nothing() -> None:
    pass


def _is_json(content_type: str) -> bool:
    """True for ``application/json`` and ``+json`` media types (any parameters), and for an empty header."""
    media_type = content_type.partition(";")[0].strip().lower()
    return not media_type or media_type == "application/json" or (media_type.endswith("+json") and "/" in media_type)


@functools.cache
def _key_table() -> dict[str, str]:
    """Every property name of the request schemas, as one string each: parsed tasks share these keys."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(properties := node.get("properties"), dict):
                names.update(properties)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for document in ("common", "image-inference", "request"):  # what clients send, not what the mock answers
        walk(schemas.load(document))
    return {name: name for name in names}


@functools.cache
def _default(path: str) -> Any:
    """A parameter's default, read from the schema (never re-typed here)."""
    return schemas.task_parameters()[path].get("default")


@functools.cache
def _integer_paths() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split(".")) for p, s in schemas.task_parameters().items() if s.get("type") == "integer")


def _with_int(node: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """``node`` with the integral float at ``path`` made an int (copying only the dicts on the way)."""
    head, rest = path[0], path[1:]
    value = node.get(head)
    if not rest:
        return {**node, head: int(value)} if value.__class__ is float else node
    if value.__class__ is not dict:
        return node
    changed = _with_int(value, rest)
    return node if changed is value else {**node, head: changed}


def whole_numbers(task: Mapping[str, Any]) -> dict[str, Any]:
    """``task`` with integer parameters sent as integral floats (``"numberResults": 1.0``, valid JSON
    Schema integers) turned into ints, so the engine serves whatever the validator accepts."""
    out = dict(task)
    for path in _integer_paths():
        out = _with_int(out, path)
    return out


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


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def error_item(code: str, message: str, **fields: Any) -> dict[str, Any]:
    """An ``errors[]`` item of the catalogue ``code`` (keyword names as :class:`TaskError`'s)."""
    return TaskError(code=code, message=message, **fields).to_dict()


def acknowledged_at_once(task: Mapping[str, Any]) -> bool:
    """True when a valid ``imageInference`` task is answered with an acknowledgement, not results
    (``deliveryMethod: "async"`` or a ``webhookURL``)."""
    return task.get("deliveryMethod", _default("deliveryMethod")) == "async" or "webhookURL" in task


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


@dataclass
class Reply:
    """What a transport sends back for one request: HTTP status, envelope, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _StoredImage:
    recipe: ImageRecipe
    expires_at: float


class TaskRun:
    """One ``imageInference`` task: its results so far, its error, its state."""

    # a soak keeps a thousand of these alive at once: no per-instance __dict__
    __slots__ = ("_changed", "_recipe", "base_url", "created_at", "delivery_method", "error", "expected",
                 "fate", "finished_at", "finished_monotonic", "image_uuids", "on_change", "request", "result_bytes",
                 "results", "seeds", "task", "task_uuid")  # fmt: skip

    def __init__(
        self,
        task: Mapping[str, Any],
        config: MockConfig,
        fate: TaskFate,
        base_url: str,
        request: list[Any] | None = None,
    ) -> None:
        self.task = whole_numbers(task)
        self.request = request  # the request array the task came in (getTaskDetails), shared, never changed
        self.task_uuid: str = task["taskUUID"]
        self.expected: int = self.task.get("numberResults", _default("numberResults"))
        self.fate = fate
        self.base_url = base_url.rstrip("/")
        self.delivery_method: str = task.get("deliveryMethod", _default("deliveryMethod"))
        self.created_at = time.time()
        self.finished_at: float | None = None
        self.finished_monotonic: float | None = None
        self.results: list[dict[str, Any]] = []
        self.result_bytes = 0  # base64 image data in results (counted against max_result_bytes)
        self.error: dict[str, Any] | None = None
        self.on_change: Callable[[], None] = _nothing  # the engine sets its change counter here
        self._changed: asyncio.Event | None = None  # made when somebody first waits for a change
        self._recipe: ImageRecipe | None = None  # the part of every result's recipe but the seed
        key = self.task_uuid.lower()
        seeds: list[int] = []
        for i in range(self.expected):
            n = 0
            while (s := int.from_bytes(_digest("seed", config.seed, key, i, n)[:4], "big") & 0x7FFFFFFF) in seeds:
                n += 1  # pragma: no cover - a 31-bit collision
            seeds.append(s)
        self.seeds = seeds
        self.image_uuids = [str(uuid.UUID(bytes=_digest("image", config.seed, key, i)[:16], version=4))
                            for i in range(self.expected)]  # fmt: skip

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    @property
    def status(self) -> str:
        if not self.done:
            return "processing"
        return "error" if self.error is not None else "success"

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        """Each result item (sync-response shape) as it becomes ready, then the error item if any."""
        index = 0
        while True:
            while index < len(self.results):
                yield self.results[index]
                index += 1
            if self.done:
                if self.error is not None:
                    yield self.error
                return
            await self._change()

    async def wait(self) -> None:
        """Until the task has finished (successfully or not)."""
        while not self.done:
            await self._change()

    def _change(self) -> Coroutine[Any, Any, Literal[True]]:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed.wait()

    def poll_state(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The getResponse answer: success items, a processing marker while running, the error."""
        data: list[dict[str, Any]] = [{**item, "status": "success"} for item in self.results]
        if not self.done:
            data.append({"taskType": "imageInference", "taskUUID": self.task_uuid, "status": "processing"})
        errors = [{**self.error, "status": "error"}] if self.error is not None else []
        return data, errors

    def envelope(self) -> dict[str, Any]:
        """The response envelope of this task so far, as getTaskDetails reports it."""
        data = list(self.results)
        if not self.done:
            data.append({"taskType": "imageInference", "taskUUID": self.task_uuid, "status": "processing"})
        body: dict[str, Any] = {"data": data}
        if self.error is not None:
            body["errors"] = [self.error]
        return body

    def _notify(self) -> None:
        event, self._changed = self._changed, None
        if event is not None:
            event.set()
        self.on_change()

    def _add(self, item: dict[str, Any]) -> None:
        self.results.append(item)
        self._notify()

    def _finish(self, error: dict[str, Any] | None, now: float) -> None:
        if self.done:
            return
        self.error = error
        self.finished_at = time.time()
        self.finished_monotonic = now
        self._notify()

    def to_dict(self) -> dict[str, Any]:
        """The task as ``GET /_mock/tasks`` shows it."""
        return {
            "taskUUID": self.task_uuid,
            "status": self.status,
            "deliveryMethod": self.delivery_method,
            "numberResults": self.expected,
            "completed": len(self.results),
            "createdAt": self.created_at,
            "finishedAt": self.finished_at,
            "latency": self.fate.latency,
            "injectedFailure": self.fate.failure,
            "webhookURL": self.task.get("webhookURL"),
            "uploadEndpoint": self.task.get("uploadEndpoint"),
            "results": [for_log(item) for item in self.results],  # image data is never inlined
            "error": self.error,
        }


class MockEngine:
    """All the state and behaviour of one mock Runware endpoint.

    ``clock`` (monotonic seconds) drives retention, image ttl and the rate limiter;
    ``outbound_transport`` replaces the network for webhooks and uploads (an
    ``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        outbound_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config or MockConfig()
        self._fidelity = _fidelity_table(self._config)
        self._clock = clock
        self._faults = FaultPlan(lambda: self._config)
        self._limiter = RateLimiter(lambda: self._config, clock)
        self._deliverer = Deliverer(lambda: self._config, outbound_transport, spawn=self._spawn)
        self._renderer = ImageRenderer(self._config.image_cache_bytes, self._recipe_of)
        self._tasks: TaskStore[TaskRun] = TaskStore()
        self._images: OrderedDict[str, _StoredImage] = OrderedDict()
        self._requests: deque[dict[str, Any]] = deque()  # trimmed by count and bytes (_trim_log)
        self._log_bytes = 0
        self._result_bytes = 0  # base64 image data held by remembered results
        self._deliveries: deque[DeliveryAttempt] = deque(maxlen=self._config.delivery_log_size)
        self._recorder: tuple[int, Callable[[DeliveryAttempt], None]] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._request_counter = 0
        self._generation = 0
        self._changes = 0
        self._next_prune = -math.inf

    # -- configuration and lifecycle -----------------------------------------------------------

    @property
    def config(self) -> MockConfig:
        return self._config

    def configure(self, changes: Mapping[str, Any]) -> MockConfig:
        """Apply setting changes at run time (raises :class:`~ideogram_mock.config.ConfigError`)."""
        config = MockConfig.from_mapping(changes, base=self._config)
        if config.fidelity_file != self._config.fidelity_file:
            self._fidelity = _fidelity_table(config)
        self._config = config
        self._renderer.cache_bytes = self._config.image_cache_bytes
        self._trim_log()
        self._trim_results()
        if self._deliveries.maxlen != self._config.delivery_log_size:
            self._deliveries = deque(self._deliveries, maxlen=self._config.delivery_log_size)
        self.touch()
        return self._config

    def reset(self) -> None:
        """Forget every task, image, logged request and delivery; restart the fault plan.

        Running tasks and pending deliveries are cancelled. The config stays as it is.
        """
        self._generation += 1
        for task in list(self._background):
            task.cancel()
        self._deliverer.abandon(report=False)
        self._tasks.clear()
        self._images.clear()
        self._requests.clear()
        self._log_bytes = 0
        self._result_bytes = 0
        self._deliveries.clear()
        self._renderer.clear()
        self._faults.reset()
        self._limiter.reset()
        self._request_counter = 0
        self.touch()

    @property
    def pending(self) -> int:
        """Background tasks (running tasks, deliveries) not finished yet."""
        return sum(1 for t in self._background if not t.done()) + self._deliverer.queued

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until no background work is left (or ``timeout`` passes); True when idle."""
        deadline = None if timeout is None else self._clock() + timeout
        while self._background:
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._background), timeout=remaining)
        return True

    async def aclose(self, grace: float | None = None) -> dict[str, int]:
        """Let background work finish for ``grace`` seconds (default: config), cancel the rest.

        Returns ``{"finished": n, "cancelled": m}`` counts of the background tasks.
        """
        grace = self._config.shutdown_grace if grace is None else grace
        pending_before = self.pending
        await self.drain(grace)
        leftover = [t for t in self._background if not t.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            await asyncio.wait(leftover)
        never_started = self._deliverer.abandon(report=True)
        await self._deliverer.aclose()
        cancelled = len(leftover) + never_started
        return {"finished": pending_before - cancelled, "cancelled": cancelled}

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- extension points (the pytest plugin overrides them for fail_next and respond_with) ------

    def on_task(self, run: TaskRun) -> None:
        """Called as a task is registered, before it runs; may replace ``run.fate``."""

    def on_result(self, run: TaskRun, item: dict[str, Any]) -> dict[str, Any]:
        """Each result item before it is stored, answered and delivered; returns the item to use."""
        return item

    # -- inspection ------------------------------------------------------------------------------

    @property
    def changes(self) -> int:
        """A counter that grows whenever anything the inspection methods return changes (never resets)."""
        return self._changes

    def touch(self) -> None:
        """Count one change of inspectable state (transports call it when they log a request)."""
        self._changes += 1

    def requests(self) -> list[dict[str, Any]]:
        """Received requests, oldest first, with their validation results and answer status."""
        return list(self._requests)

    def log_request(self, transport: str, size: int, **fields: Any) -> dict[str, Any]:
        """Add a message received over ``transport`` (e.g. ``"ws"``) to the request log.

        Returns the entry (``id``, ``at``, ``transport``, ``bodyBytes``, ``fields``) for the caller to
        complete as it answers (``body``, ``tasks``, ``response``); :meth:`handle_rest` logs REST itself.
        """
        self._request_counter += 1
        entry: dict[str, Any] = {"id": self._request_counter, "at": time.time(), "transport": transport,
                                 "bodyBytes": size, **fields}  # fmt: skip
        self._requests.append(entry)
        self._trim_log()
        self.touch()
        return entry

    def logged(self, entry: dict[str, Any]) -> None:
        """``entry`` of the request log is complete (answered): count its bytes against ``request_log_bytes``."""
        entry["logBytes"] = cost = _log_cost(entry)
        self._log_bytes += cost
        self._trim_log()
        self.touch()

    def _trim_log(self) -> None:
        cfg = self._config
        while self._requests and (
            len(self._requests) > cfg.request_log_size
            or (self._log_bytes > cfg.request_log_bytes and len(self._requests) > 1)
        ):
            self._log_bytes -= self._requests.popleft().get("logBytes", 0)

    def _forgotten(self, runs: list[TaskRun]) -> None:
        for run in runs:
            self._result_bytes -= run.result_bytes

    def _trim_results(self) -> None:
        """Forget the oldest finished tasks while their base64 results are over ``max_result_bytes``."""
        while self._result_bytes > self._config.max_result_bytes:
            run = self._tasks.evict_oldest()
            if run is None:
                return  # only running tasks hold it: they are never forgotten
            self._result_bytes -= run.result_bytes

    def tasks(self) -> list[dict[str, Any]]:
        """Known tasks and their state, oldest first."""
        return [run.to_dict() for run in self._tasks.values()]

    def task(self, task_uuid: str) -> TaskRun | None:
        return self._tasks.get(task_uuid.lower())

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook and upload attempt, oldest first."""
        return [attempt.to_dict() for attempt in self._deliveries]

    def _record_attempt(self, generation: int) -> Callable[[DeliveryAttempt], None]:
        """The callback that logs a delivery's attempts unless a reset happened since ``generation``."""
        if self._recorder is not None and self._recorder[0] == generation:
            return self._recorder[1]  # one closure per generation, shared by all its deliveries

        def record(attempt: DeliveryAttempt) -> None:
            if generation == self._generation:
                self._deliveries.append(attempt)
                self.touch()

        self._recorder = (generation, record)
        return record

    # -- protocol pieces ---------------------------------------------------------------------------

    def admit(self) -> float | None:
        """Count one request against the rate limit; the Retry-After seconds when over it."""
        return self._limiter.admit()

    def rate_limit_error(self, retry_after: float, **fields: Any) -> tuple[int, dict[str, Any]]:
        """``(whole seconds to wait, the rateLimitExceeded error item)`` for an :meth:`admit` refusal."""
        seconds = max(1, math.ceil(retry_after))
        err = error_item(
            "rateLimitExceeded",
            f"More than {self._config.rate_limit} requests in {self._config.rate_window:g} s.",
            hint=f"retry after {seconds} s",
            **fields,
        )
        return seconds, err

    def authenticate(self, api_key: str | None) -> dict[str, Any] | None:
        """None when ``api_key`` is accepted, else the error item (missingApiKey or invalidApiKey)."""
        if not api_key:
            return error_item(
                "missingApiKey",
                "No API key: send 'Authorization: Bearer <key>' or an authentication task first.",
                parameter="apiKey",
                task_type="authentication",
                documentation=AUTHENTICATION_DOCS,
            )
        cfg = self._config
        if api_key == cfg.rejected_api_key or (cfg.api_keys and api_key not in cfg.api_keys):
            return error_item(
                "invalidApiKey", "Invalid API key. Get one at https://my.runware.ai/signup", parameter="apiKey",
                task_type="authentication", documentation=AUTHENTICATION_DOCS,
            )  # fmt: skip
        return None

    def check(self, tasks: list[Any]) -> CheckResult:
        """Validation errors by task index: the schema, then the engine's own rules (and the warnings)."""
        found = CheckResult()
        result = validate(tasks)
        found.warnings = result.warnings
        for err in map(self._fidelity.apply, result) if self._fidelity else result:
            found.setdefault(err.task_index if err.task_index is not None else 0, []).append(err)
        allow = self._config.outbound_allow
        for index, task in enumerate(tasks):
            if index in found or not isinstance(task, dict) or task.get("taskType") != "imageInference":
                continue
            problems: list[TaskError] = []
            base = {"task_index": index, "task_uuid": task["taskUUID"], "task_type": "imageInference"}
            if task["taskUUID"].lower() in self._tasks:
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
            if problems:
                found[index] = problems
        return found

    # -- limits (a transport checks them in this order: parse, too_many_tasks, check, too_many_images) --

    def parse(self, body: bytes | str) -> Any:
        """The JSON of a body or frame, nested at most ``max_json_depth`` deep (raises JSONInputError)."""
        return parse_json(body, max_depth=self._config.max_json_depth, key_table=_key_table())

    def too_many_tasks(self, tasks: list[Any], what: str = "request") -> dict[str, Any] | None:
        """The payloadTooLarge error item when ``tasks`` holds more than ``max_tasks_per_request``."""
        limit = self._config.max_tasks_per_request
        if len(tasks) <= limit:
            return None
        return error_item(
            "payloadTooLarge", f"The {what} has {len(tasks)} tasks; the limit is {limit} (max_tasks_per_request).",
            max=limit, hint=f"split the tasks over several {what}s",
        )  # fmt: skip

    def too_many_images(
        self, tasks: list[Any], found: Mapping[int, list[TaskError]], what: str = "request"
    ) -> dict[str, Any] | None:
        """The payloadTooLarge error item when the valid ``imageInference`` tasks of ``tasks`` (those
        without errors in ``found``) ask for more than ``max_images_per_request`` images together."""
        limit = self._config.max_images_per_request
        images = sum(int(t.get("numberResults", _default("numberResults"))) for i, t in enumerate(tasks)
                     if i not in found and t["taskType"] == "imageInference")  # fmt: skip
        if images <= limit:
            return None
        return error_item(
            "payloadTooLarge",
            f"The {what} asks for {images} images (numberResults summed over its tasks); the limit is {limit} "
            "(max_images_per_request).",
            max=limit, hint=f"split the tasks over several {what}s",
        )  # fmt: skip

    def _not_found(self, task_uuid: Any, task_type: str) -> dict[str, Any]:
        return error_item(
            "taskNotFound",
            f"No task {task_uuid} is known: it was never submitted, or it finished more than "
            f"{self._config.retention:g} s ago and was forgotten.",
            parameter="taskUUID",
            task_type=task_type,
            task_uuid=task_uuid if isinstance(task_uuid, str) else None,
            value=task_uuid,
        )

    def get_response(self, task_uuid: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The whole state so far of task ``task_uuid``: ``(data items, error items)``."""
        self._prune()
        run = self._tasks.get(task_uuid.lower()) if isinstance(task_uuid, str) else None
        if run is None:
            return [], [self._not_found(task_uuid, "getResponse")]
        return run.poll_state()

    def task_details(self, task_uuid: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A getTaskDetails answer: the original request array (API keys redacted) and the task's
        response envelope so far, for any task the mock still remembers."""
        self._prune()
        run = self._tasks.get(task_uuid.lower()) if isinstance(task_uuid, str) else None
        if run is None:
            return [], [self._not_found(task_uuid, "getTaskDetails")]
        request = redacted(run.request if run.request is not None else [run.task])
        item = {"taskType": "getTaskDetails", "taskUUID": task_uuid, "request": request, "response": run.envelope()}
        return [item], []

    def request_fault(self) -> str | None:
        """The code of a request-level fault for the next request (``request_failure_rate``), or None.

        The pytest plugin overrides it for ``fail_next("serviceUnavailable")`` and friends."""
        return self._faults.request_failure()

    def request_fault_error(self, code: str, **fields: Any) -> tuple[int, dict[str, Any]]:
        """``(HTTP status, error item)`` of the request-level fault ``code``."""
        return schemas.error_codes()[code].http_status, error_item(code, REQUEST_FAULT_MESSAGES[code], **fields)

    # -- running tasks ------------------------------------------------------------------------------

    def _register(self, task: Mapping[str, Any], base_url: str, request: list[Any] | None) -> TaskRun:
        self._prune()
        cfg = self._config
        number = int(task.get("numberResults", _default("numberResults")))
        run = TaskRun(task, cfg, self._faults.task(number), cfg.public_base_url or base_url, request)
        self.on_task(run)
        run.on_change = self.touch
        self._tasks.add(run.task_uuid.lower(), run)
        self._forgotten(self._tasks.evict_over(cfg.max_tasks))  # finished only, oldest first: O(1) per task
        return run

    def submit(self, task: Mapping[str, Any], *, base_url: str, request: list[Any] | None = None) -> TaskRun:
        """Start a valid ``imageInference`` task in the background; returns at once.

        ``request`` is the request array it came in, for getTaskDetails (default: the task alone)."""
        run = self._register(task, base_url, request)
        self._start(run)
        return run

    async def run(self, task: Mapping[str, Any], *, base_url: str, request: list[Any] | None = None) -> TaskRun:
        """Run a valid ``imageInference`` task to the end and wait for it.

        It runs as background work, so shutdown (:meth:`aclose`) and :meth:`reset` end it like any
        other: the caller then gets the run with its "cancelled" error, not an exception.
        """
        run = self._register(task, base_url, request)
        job = self._start(run)
        await asyncio.wait({job})
        if not job.cancelled():
            job.result()  # re-raise a failure of the task itself
        return run

    async def _execute(self, run: TaskRun) -> None:
        generation = self._generation
        fate = run.fate
        try:
            if fate.failure is not None:
                if fate.latency:
                    await asyncio.sleep(fate.latency)
                message = {
                    "providerError": "The provider failed to process the task (injected fault).",
                    "timeoutProvider": "The provider did not answer in time (injected fault).",
                }[fate.failure]
                error = error_item(fate.failure, message, task_type="imageInference", task_uuid=run.task_uuid)
                self._finish(run, error)
                self._deliver_webhook(run, error, None, generation, failed=True)
                return
            for index in range(run.expected):
                if fate.latency:
                    await asyncio.sleep(fate.latency / run.expected)
                item, recipe = await self._make_result(run, index)
                item = self.on_result(run, item)
                run._add(item)
                self._deliver_webhook(run, item, item["imageUUID"], generation)
                if "uploadEndpoint" in run.task:
                    self._spawn(self._upload(run, recipe, item["imageUUID"], generation))
            self._finish(run, None)
        finally:
            self._end_cancelled(run)

    def _start(self, run: TaskRun) -> asyncio.Task[Any]:
        job = self._spawn(self._execute(run))
        job.add_done_callback(lambda _: self._end_cancelled(run))  # also when cancelled before it began
        return job

    def _end_cancelled(self, run: TaskRun) -> None:
        if not run.done:  # cancelled: a reset, or shutdown
            error = error_item(
                "providerError", "The task was cancelled before it finished.",
                task_type="imageInference", task_uuid=run.task_uuid,
            )  # fmt: skip
            self._finish(run, error)

    def _finish(self, run: TaskRun, error: dict[str, Any] | None) -> None:
        now = self._clock()
        run._finish(error, now)
        self._tasks.finished(run.task_uuid.lower(), run, now)
        self._trim_results()

    @staticmethod
    def _base_recipe(task: Mapping[str, Any]) -> ImageRecipe:
        """The recipe every result of ``task`` shares but for its seed (made once per task)."""
        ideogram = task.get("providerSettings", {}).get("ideogram", {})
        style_parts = [
            ideogram.get("styleType", _default("providerSettings.ideogram.styleType")),
            ideogram.get("magicPrompt", _default("providerSettings.ideogram.magicPrompt")),
            ideogram.get("renderingSpeed", _default("providerSettings.ideogram.renderingSpeed")),
            task.get("negativePrompt", ""),
            hashlib.sha256("\x1f".join(ideogram.get("styleReferenceImages", [])).encode()).hexdigest(),
        ]
        return ImageRecipe(
            reference=task["inputs"]["referenceImages"][0],
            prompt=task["positivePrompt"],
            seed=0,
            strength=ideogram.get("remixStrength", _default("providerSettings.ideogram.remixStrength")),
            style="/".join(map(str, style_parts)),
            width=task["width"],
            height=task["height"],
            output_format=task.get("outputFormat", _default("outputFormat")),
            quality=task.get("outputQuality", _default("outputQuality")),
        )

    async def _make_result(self, run: TaskRun, index: int) -> tuple[dict[str, Any], ImageRecipe]:
        task = run.task
        cfg = self._config
        if run._recipe is None:
            run._recipe = self._base_recipe(task)
        recipe = replace(run._recipe, seed=run.seeds[index])
        image_uuid = run.image_uuids[index]
        output_type = task.get("outputType", _default("outputType"))
        ttl = task.get("ttl", cfg.image_ttl) if output_type == "URL" else cfg.image_ttl
        self._store_image(image_uuid, recipe, ttl)
        item: dict[str, Any] = {"taskType": "imageInference", "taskUUID": run.task_uuid, "imageUUID": image_uuid}
        if output_type == "URL":
            item["imageURL"] = f"{run.base_url}/images/{image_uuid}.{recipe.format.extension}"
        else:
            data = await asyncio.to_thread(self._renderer.render, recipe)
            if output_type == "dataURI":
                item["imageDataURI"] = data_uri(data, recipe)
            else:
                item["imageBase64Data"] = data_uri(data, recipe).partition(",")[2]
            run.result_bytes += len(data) * 4 // 3
            self._result_bytes += len(data) * 4 // 3
        item["seed"] = run.seeds[index]
        safety = task.get("safety", {})
        if "mode" in safety:  # mode wins over checkContent (Runware's reference), both over checkNSFW
            safety_on = safety["mode"] != "none"
        elif "checkContent" in safety:
            safety_on = safety["checkContent"]
        else:
            safety_on = task.get("checkNSFW", _default("safety.checkContent"))
        if safety_on:
            item["NSFWContent"] = run.fate.nsfw[index]
        if task.get("includeCost", _default("includeCost")):
            item["cost"] = cfg.cost_per_image
        return item, recipe

    # -- images -------------------------------------------------------------------------------------

    def _store_image(self, image_uuid: str, recipe: ImageRecipe, ttl: float) -> None:
        self._images[image_uuid] = _StoredImage(recipe, self._clock() + ttl)
        self._images.move_to_end(image_uuid)
        while len(self._images) > self._config.max_images:
            self._images.popitem(last=False)

    def _recipe_of(self, image_uuid: str) -> ImageRecipe | None:
        stored = self._images.get(image_uuid)
        return stored.recipe if stored is not None else None

    async def image(self, name: str) -> tuple[bytes, str] | None:
        """``(bytes, content type)`` of ``<imageUUID>.<ext>``, or None when unknown or expired."""
        image_uuid, _, extension = name.lower().partition(".")
        stored = self._images.get(image_uuid)
        if stored is None or stored.expires_at <= self._clock() or stored.recipe.format.extension != extension:
            return None
        data = await asyncio.to_thread(self._renderer.render, stored.recipe)
        return data, stored.recipe.format.content_type

    def render(self, recipe: ImageRecipe) -> bytes:
        """Encode ``recipe`` with the engine's cache (blocking)."""
        return self._renderer.render(recipe)

    # -- deliveries ----------------------------------------------------------------------------------

    def _deliver_webhook(
        self, run: TaskRun, item: dict[str, Any], image_uuid: str | None, generation: int, *, failed: bool = False
    ) -> None:
        """POST one finished item to the task's webhookURL, in the configured ``webhook_body`` shape."""
        url = run.task.get("webhookURL")
        if url is None:
            return
        delivery_id = str(uuid.UUID(bytes=_digest("webhook", run.task_uuid, image_uuid)[:16], version=4))
        record = self._record_attempt(generation)
        if self._faults.drop_webhook():
            self._deliverer.dropped(delivery_id, url, run.task_uuid, image_uuid, record)
            return
        if self._config.webhook_body == "data":
            content = protocol.encode({"errors" if failed else "data": [item]})
        else:
            content = protocol.encode_item(item)
        self._deliverer.submit(
            Job("webhook", delivery_id, "POST", url, content, "application/json", run.task_uuid, image_uuid, record)
        )

    async def _upload(self, run: TaskRun, recipe: ImageRecipe, image_uuid: str, generation: int) -> None:
        data = await asyncio.to_thread(self._renderer.render, recipe)
        delivery_id = str(uuid.UUID(bytes=_digest("upload", run.task_uuid, image_uuid)[:16], version=4))
        self._deliverer.submit(
            Job("upload", delivery_id, "PUT", run.task["uploadEndpoint"], data, recipe.format.content_type,
                run.task_uuid, image_uuid, self._record_attempt(generation))
        )  # fmt: skip

    # -- housekeeping ----------------------------------------------------------------------------------

    def _prune(self) -> None:
        now = self._clock()
        if now < self._next_prune:
            return
        self._next_prune = now + 1.0
        self._forgotten(self._tasks.expire(now, self._config.retention))  # O(1) per task forgotten
        for key in [k for k, img in self._images.items() if img.expires_at <= now]:
            del self._images[key]

    # -- REST ------------------------------------------------------------------------------------------

    async def handle_rest(
        self,
        body: bytes,
        *,
        authorization: str | None,
        base_url: str,
        declared_size: int | None = None,
        content_type: str | None = None,
    ) -> Reply:
        """Answer one ``POST /v1``: ``body`` as received, the Authorization header, the request's base URL.

        ``declared_size`` is the body's ``Content-Length`` when the transport did not read a body
        that declared itself over ``max_body_bytes`` (then ``body`` is empty); ``content_type`` is
        the ``Content-Type`` header (None when absent).
        """
        self._request_counter += 1
        entry: dict[str, Any] = {
            "id": self._request_counter,
            "at": time.time(),
            "transport": "rest",
            "bodyBytes": declared_size if declared_size is not None else len(body),
        }
        self._requests.append(entry)
        self.touch()
        reply = await self._rest(body, authorization, base_url, entry, declared_size, content_type)
        entry["status"] = reply.status
        entry["response"] = for_log(reply.body) if len(body) <= _INLINE_LOG_LIMIT else {"omitted": "large request"}
        self.logged(entry)
        return reply

    async def _rest(
        self,
        body: bytes,
        authorization: str | None,
        base_url: str,
        entry: dict[str, Any],
        declared_size: int | None,
        content_type: str | None,
    ) -> Reply:
        limit = self._config.max_body_bytes
        if declared_size is not None and declared_size > limit:
            err = error_item("payloadTooLarge", f"The body is {declared_size} bytes; the limit is {limit}.", max=limit)
            return Reply(413, protocol.rest_errors([err]))
        if len(body) > limit:  # a body without Content-Length, read until it passed the limit
            err = error_item("payloadTooLarge", f"The body is over the limit of {limit} bytes.", max=limit)
            return Reply(413, protocol.rest_errors([err]))
        retry_after = self.admit()
        if retry_after is not None:
            seconds, err = self.rate_limit_error(retry_after)
            return Reply(429, protocol.rest_errors([err]), {"Retry-After": str(seconds)})
        if (fault := self.request_fault()) is not None:
            status, err = self.request_fault_error(fault)
            headers = {"Retry-After": "1"} if status == 429 else {}  # as every 429 of the mock
            return Reply(status, protocol.rest_errors([err]), headers)
        parse_error: JSONInputError | None = None
        try:
            tasks = self.parse(body)
        except JSONInputError as exc:
            tasks, parse_error = None, exc
        else:
            entry["body"] = redacted(tasks) if len(body) <= _INLINE_LOG_LIMIT else "omitted (large body)"
        wrong_type = content_type is not None and self._config.require_json_content_type and not _is_json(content_type)
        if parse_error is not None or wrong_type:
            # no tasks to read an authentication task from: a header key is checked first, as for any request
            api_key = self._bearer(authorization)
            if api_key is not None and (key_error := self.authenticate(api_key)) is not None:
                return Reply(401, protocol.rest_errors([key_error]))
            if content_type is not None and wrong_type:
                entry["contentType"] = content_type
                err = error_item(
                    "unsupportedMediaType",
                    f"The body is declared as {content_type[:100]!r}; POST /v1 takes application/json.",
                    hint="send the header Content-Type: application/json (curl: -H 'Content-Type: application/json')",
                    value=content_type[:100],
                )
                return Reply(415, protocol.rest_errors([err]))
            return Reply(
                400, protocol.rest_errors([error_item("invalidRequestBody", f"The body is not JSON: {parse_error}")])
            )
        if not isinstance(tasks, list) or not tasks:
            message = "The body must be a non-empty JSON array of task objects."
            hint = 'wrap the task in a list: [{"taskType": "imageInference", ...}]'
            return Reply(400, protocol.rest_errors([error_item("invalidRequestBody", message, hint=hint)]))
        if (too_many := self.too_many_tasks(tasks)) is not None:
            return Reply(413, protocol.rest_errors([too_many]))
        api_key = self._bearer(authorization)
        if api_key is None:
            auth_task = next((t for t in tasks if isinstance(t, dict) and t.get("taskType") == "authentication"), None)
            if auth_task is not None:
                key = auth_task.get("apiKey")
                api_key = key if isinstance(key, str) else ""
        auth_error = self.authenticate(api_key)
        if auth_error is not None:
            return Reply(401, protocol.rest_errors([auth_error]))
        found = self.check(tasks)
        entry["tasks"] = check_report(tasks, found)
        if (too_many := self.too_many_images(tasks, found)) is not None:
            return Reply(413, protocol.rest_errors([too_many]))
        return await self._dispatch(tasks, found, base_url)

    async def _dispatch(self, tasks: list[Any], found: dict[int, list[TaskError]], base_url: str) -> Reply:
        data: list[list[dict[str, Any]]] = [[] for _ in tasks]
        errors: list[list[dict[str, Any]]] = [[] for _ in tasks]
        ran = False
        inline: list[tuple[int, Awaitable[TaskRun]]] = []
        for index, task in enumerate(tasks):
            if index in found:
                errors[index] = [e.to_dict() for e in found[index]]
                continue
            kind = task["taskType"]
            if kind == "authentication":
                ran = True
            elif kind == "ping":
                data[index] = [{"taskType": "ping", "pong": True}]
                ran = True
            elif kind in ("getResponse", "getTaskDetails"):
                answer = self.get_response if kind == "getResponse" else self.task_details
                data[index], errors[index] = answer(task["taskUUID"])
                ran = ran or bool(data[index]) or not any(e["code"] == "taskNotFound" for e in errors[index])
            elif acknowledged_at_once(task):
                self.submit(task, base_url=base_url, request=tasks)
                data[index] = [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]
                ran = True
            else:
                inline.append((index, self.run(task, base_url=base_url, request=tasks)))
        if inline:
            runs = await asyncio.gather(*(coro for _, coro in inline))
            for (index, _), run in zip(inline, runs, strict=True):
                data[index] = list(run.results)
                if run.error is not None:
                    errors[index] = [run.error]
                ran = ran or bool(run.results)
        flat_data = [item for items in data for item in items]
        flat_errors = [item for items in errors for item in items]
        status = 200
        if not ran:
            codes = schemas.error_codes()
            injected = [e["code"] for e in flat_errors if e["code"] in INJECTED_CODES]  # only these give a 5xx
            status = (
                codes[injected[0]].http_status if injected else (self._fidelity.status(flat_errors[0]["code"]) or 400)
            )
        body: dict[str, Any] = {"data": flat_data}  # REST error bodies carry "data": [] too
        if flat_errors:
            body["errors"] = flat_errors
        return Reply(status, body)

    @staticmethod
    def _bearer(authorization: str | None) -> str | None:
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
