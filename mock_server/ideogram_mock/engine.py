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
- :meth:`MockEngine.get_response` / :meth:`MockEngine.task_details`: ``getResponse`` and
  ``getTaskDetails`` answers as ``(data, errors)``.
- :meth:`MockEngine.log_request` / :meth:`MockEngine.logged`: the request log.
- :meth:`MockEngine.image`: the bytes behind an ``imageURL``.

Its parts live in modules of their own: :mod:`~ideogram_mock.rest` (the REST protocol),
:mod:`~ideogram_mock.tasks` (:class:`TaskRun`), :mod:`~ideogram_mock.records` (error items,
replies, log views), :mod:`~ideogram_mock.limits`, :mod:`~ideogram_mock.retention` (which tasks
are kept), :mod:`~ideogram_mock.request_log`, :mod:`~ideogram_mock.image_store`.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ideogram_kit import schemas
from ideogram_kit.codes import AUTHENTICATION_DOCS
from ideogram_kit.errors import TaskError
from ideogram_kit.validation import validate

from . import limits, protocol, rest
from .config import ConfigError, MockConfig
from .delivery import Deliverer, DeliveryAttempt, Job
from .faults import FaultPlan, RateLimiter
from .fidelity import FidelityError, FidelityTable
from .fidelity import load as load_fidelity
from .image_store import ImageStore
from .images import ImageRecipe, ImageRenderer, data_uri
from .records import (
    INJECTED_CODES,
    REQUEST_FAULT_MESSAGES,
    CheckResult,
    Reply,
    check_report,
    engine_rules,
    error_item,
    for_log,
    redacted,
)
from .request_log import RequestLog
from .retention import TaskStore
from .tasks import SharedRequest, TaskRun, acknowledged_at_once, base_recipe, default, digest, whole_numbers

#: ``MockEngine`` lives here; the other names are re-exported from the modules that now hold them
#: (records, tasks), so ``from ideogram_mock.engine import TaskRun`` keeps working.
__all__ = [
    "INJECTED_CODES",
    "REQUEST_FAULT_MESSAGES",
    "CheckResult",
    "MockEngine",
    "Reply",
    "TaskRun",
    "acknowledged_at_once",
    "check_report",
    "error_item",
    "for_log",
    "redacted",
    "whole_numbers",
]


def _fidelity_table(config: MockConfig) -> FidelityTable:
    if config.fidelity_file is None:
        return FidelityTable()
    try:
        return load_fidelity(config.fidelity_file)
    except FidelityError as exc:
        raise ConfigError(f"fidelity_file: {exc}") from None


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
        self._startup_config = self._config  # what reset() restores
        self._fidelity = _fidelity_table(self._config)
        self._clock = clock
        self._faults = FaultPlan(lambda: self._config)
        self._limiter = RateLimiter(lambda: self._config, clock)
        self._deliverer = Deliverer(lambda: self._config, outbound_transport, spawn=self._spawn)
        self._images = ImageStore(lambda: self._config, clock)
        self._renderer = ImageRenderer(self._config.image_cache_bytes, self._images.recipe)
        self._tasks: TaskStore[TaskRun] = TaskStore()
        self._log = RequestLog(lambda: self._config)
        self._result_bytes = 0  # base64 image data held by remembered results
        self._deliveries: deque[DeliveryAttempt] = deque(maxlen=self._config.delivery_log_size)
        self._recorder: tuple[int, Callable[[DeliveryAttempt], None]] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._generation = 0
        self._changes = 0
        self._touch = self.touch
        self._last_request: SharedRequest | None = None  # the request whose tasks register now
        self._next_prune = -math.inf

    # -- configuration and lifecycle -----------------------------------------------------------

    @property
    def config(self) -> MockConfig:
        return self._config

    def configure(self, changes: Mapping[str, Any]) -> MockConfig:
        """Apply setting changes at run time (raises :class:`~ideogram_mock.config.ConfigError`)."""
        config = MockConfig.from_mapping(changes, base=self._config)
        if config.http != self._config.http:
            raise ConfigError(
                f"http is read when the server starts ({self._config.http!r} now): restart it to change it"
            )
        if config.fidelity_file != self._config.fidelity_file:
            self._fidelity = _fidelity_table(config)
        self._config = config
        self._renderer.cache_bytes = self._config.image_cache_bytes
        self._log.trim()
        self._trim_results()
        if self._deliveries.maxlen != self._config.delivery_log_size:
            self._deliveries = deque(self._deliveries, maxlen=self._config.delivery_log_size)
        self.touch()
        return self._config

    def bound_to(self, port: int) -> None:
        """The server bound ``port``: the config (and what :meth:`reset` restores) shows it."""
        self._startup_config = self._startup_config.replace(port=port)
        self.configure({"port": port})

    def reset(self, *, keep_config: bool = False) -> None:
        """Forget every task, image, logged request and delivery; restart the fault plan.

        Running tasks and pending deliveries are cancelled. The settings go back to the start-up
        configuration (faults, latency and limits included) unless ``keep_config`` is true.
        """
        if not keep_config and self._config != self._startup_config:
            self.configure(self._startup_config.to_dict())
        self._generation += 1
        for task in list(self._background):
            task.cancel()
        self._deliverer.abandon(report=False)
        self._tasks.clear()
        self._images.clear()
        self._log.clear()
        self._result_bytes = 0
        self._deliveries.clear()
        self._renderer.clear()
        self._faults.reset()
        self._limiter.reset()
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
        return self._log.entries()

    def log_request(self, transport: str, size: int, **fields: Any) -> dict[str, Any]:
        """Add a message received over ``transport`` (e.g. ``"ws"``) to the request log.

        Returns the entry (``id``, ``at``, ``transport``, ``bodyBytes``, ``fields``) for the caller to
        complete as it answers (``body``, ``tasks``, ``response``); :meth:`handle_rest` logs REST itself.
        """
        entry = self._log.add(transport, size, **fields)
        self.touch()
        return entry

    def logged(self, entry: dict[str, Any]) -> None:
        """``entry`` of the request log is complete (answered): count its bytes against ``request_log_bytes``."""
        self._log.done(entry)
        self.touch()

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
            if problems := engine_rules(task, index, task["taskUUID"].lower() in self._tasks, allow):
                found[index] = problems
        return found

    # -- limits (a transport checks them in this order: parse, too_many_tasks, check, too_many_images) --

    def parse(self, body: bytes | str) -> Any:
        """The JSON of a body or frame, nested at most ``max_json_depth`` deep (raises JSONInputError)."""
        return limits.parse(body, self._config)

    def too_many_tasks(self, tasks: list[Any], what: str = "request") -> dict[str, Any] | None:
        """The payloadTooLarge error item when ``tasks`` holds more than ``max_tasks_per_request``."""
        return limits.too_many_tasks(tasks, self._config, what)

    def too_many_images(
        self, tasks: list[Any], found: Mapping[int, list[TaskError]], what: str = "request"
    ) -> dict[str, Any] | None:
        """The payloadTooLarge error item when the valid imageInference tasks ask for too many images."""
        return limits.too_many_images(tasks, found, self._config, what)

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
        request = redacted(run.request)
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
        number = int(task.get("numberResults", default("numberResults")))
        if request is not None and (self._last_request is None or self._last_request.value is not request):
            self._last_request = SharedRequest(request)  # the tasks of one request share it: its JSON is made once
        shared = self._last_request if request is not None else None
        run = TaskRun(task, cfg, self._faults.task(number), cfg.public_base_url or base_url, shared)
        self.on_task(run)
        run.on_change = self._touch  # one bound method for every run
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

        It runs as background work (unless nothing in it waits), so shutdown (:meth:`aclose`) and
        :meth:`reset` end it like any other: the caller gets the run with its "cancelled" error.
        """
        run = self._register(task, base_url, request)
        if not run.fate.latency and run.task.get("outputType", default("outputType")) == "URL":
            await self._execute(run)  # nothing in it waits (no latency, no encoding): no background work needed
            return run
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

    async def _make_result(self, run: TaskRun, index: int) -> tuple[dict[str, Any], ImageRecipe]:
        task = run.task
        cfg = self._config
        if run._recipe is None:
            run._recipe = base_recipe(task)
        recipe = run._recipe._replace(seed=run.seeds[index])
        image_uuid = run.image_uuids[index]
        output_type = task.get("outputType", default("outputType"))
        ttl = task.get("ttl", cfg.image_ttl) if output_type == "URL" else cfg.image_ttl
        self._images.put(image_uuid, recipe, ttl)
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
            safety_on = task.get("checkNSFW", default("safety.checkContent"))
        if safety_on:
            item["NSFWContent"] = run.fate.nsfw[index]
        if task.get("includeCost", default("includeCost")):
            item["cost"] = cfg.cost_per_image
        return item, recipe

    # -- images -------------------------------------------------------------------------------------

    async def image(self, name: str) -> tuple[bytes, str] | None:
        """``(bytes, content type)`` of ``<imageUUID>.<ext>``, or None when unknown or expired."""
        recipe = self._images.find(name)
        if recipe is None:
            return None
        data = await asyncio.to_thread(self._renderer.render, recipe)
        return data, recipe.format.content_type

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
        delivery_id = str(uuid.UUID(bytes=digest("webhook", run.task_uuid, image_uuid)[:16], version=4))
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
        delivery_id = str(uuid.UUID(bytes=digest("upload", run.task_uuid, image_uuid)[:16], version=4))
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
        self._images.expire(now)  # O(log n) per image forgotten

    # -- REST (the protocol itself: ideogram_mock.rest) -------------------------------------------------

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
        the ``Content-Type`` header (None when absent). See :func:`ideogram_mock.rest.handle_rest`.
        """
        return await rest.handle_rest(
            self, body, authorization=authorization, base_url=base_url, declared_size=declared_size,
            content_type=content_type,
        )  # fmt: skip

    def fidelity_status(self, code: str) -> int | None:
        """The HTTP status a recording (``fidelity_file``) gives a request failing with ``code``, if any."""
        return self._fidelity.status(code) if self._fidelity else None
