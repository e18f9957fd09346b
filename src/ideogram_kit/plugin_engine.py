"""The pytest plugin's engine and settings: :class:`PluginEngine` (the mock engine plus a test's knobs
and its record of invalid payloads and warnings), :class:`IdeogramSettings`, the failure report, and
the inspection and knobs the in-process mock and the live server share (``_MockControls``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ideogram_mock.config import MockConfig
from ideogram_mock.engine import REQUEST_FAULT_MESSAGES, CheckResult, MockEngine, Reply, TaskRun, error_item

from .errors import TaskError

T = TypeVar("T")

#: Runware's REST endpoint; ``ideogram_mock`` always intercepts it.
DEFAULT_BASE_URL = "https://api.runware.ai/v1"

#: Codes :meth:`IdeogramMock.fail_next` injects, and where: a task's failure, or the whole request's.
FAULT_CODES: Mapping[str, str] = {
    "providerError": "task",
    "timeoutProvider": "task",
    "rateLimitExceeded": "request",
    "rateLimited": "request",  # the kit's old name of rateLimitExceeded, still taken
    "invalidApiKey": "request",
    "insufficientCredits": "request",
    "forbidden": "request",
    "serviceUnavailable": "request",
    "queueTimeout": "request",
}
_RENAMED_FAULTS = {"rateLimited": "rateLimitExceeded"}
_INJECTED_RETRY_AFTER = 1.0
OPT_OUT = "@pytest.mark.ideogram(allow_invalid=True)"

ResultOverride = Mapping[str, Any] | Callable[[dict[str, Any], dict[str, Any]], Mapping[str, Any]]
WebhookHandler = Callable[[httpx.Request], "httpx.Response | int | Awaitable[httpx.Response | int | None] | None"]


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdeogramSettings:
    """Settings of one test's mock: from ini keys, ``--ideogram-*`` options, then the marker.

    Override the ``ideogram_settings`` fixture to change them in code (it may request the
    default one and return ``ideogram_settings.replace(...)``).
    """

    config: MockConfig = field(default_factory=lambda: MockConfig(port=0))
    base_urls: tuple[str, ...] = (DEFAULT_BASE_URL,)
    allow_invalid: bool = False
    fail_next: tuple[str, ...] = ()
    strict: bool = False

    def replace(self, **changes: Any) -> IdeogramSettings:
        """A copy with ``changes``; keys other than the fields above are MockConfig settings."""
        own = {f.name for f in dataclasses.fields(self)}
        mock = {k: v for k, v in changes.items() if k not in own}
        settings = dataclasses.replace(self, **{k: v for k, v in changes.items() if k in own})
        if mock:
            settings = dataclasses.replace(settings, config=MockConfig.from_mapping(mock, base=settings.config))
        for code in settings.fail_next:
            _fault_kind(code)
        return settings

    def with_marker(self, kwargs: Mapping[str, Any]) -> IdeogramSettings:
        """These settings changed by the keyword arguments of ``@pytest.mark.ideogram(...)``."""
        changes = dict(kwargs)
        if "base_url" in changes:
            extra = changes.pop("base_url")
            extra = (extra,) if isinstance(extra, str) else tuple(extra)
            changes["base_urls"] = self.base_urls + tuple(u for u in extra if u not in self.base_urls)
        if "latency" in changes:
            low, high = _latency_bounds(changes.pop("latency"))
            changes.update(latency_min=low, latency_max=high)
        if "fail_next" in changes:
            codes = changes["fail_next"]
            changes["fail_next"] = (codes,) if isinstance(codes, str) else tuple(codes)
        return self.replace(**changes)


def _latency_bounds(value: Any) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    low, high = value
    return float(low), float(high)


def _fault_kind(code: str) -> str:
    try:
        return FAULT_CODES[code]
    except KeyError:
        raise ValueError(f"fail_next: unknown code {code!r}; use one of {', '.join(FAULT_CODES)}") from None


# ---------------------------------------------------------------------------------------------
# The engine, with the plugin's knobs and its record of invalid payloads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvalidRequest:
    """One request that failed validation: the log id of the request and its errors."""

    request_id: int | None
    errors: tuple[TaskError, ...]


class PluginEngine(MockEngine):
    """The mock engine plus what a test needs: injected faults, custom results, a record of
    every invalid payload (``invalid``).

    ``in_process``: webhooks and uploads go to an in-memory transport, so any target URL is
    fine (the loopback-only rule protects the network, which is never touched here).
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        outbound_transport: httpx.AsyncBaseTransport | None = None,
        in_process: bool = False,
    ) -> None:
        super().__init__(config, outbound_transport=outbound_transport)
        self.in_process = in_process
        self.invalid: list[InvalidRequest] = []
        self.warned: list[InvalidRequest] = []  # requests whose tasks got warnings (accepted)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._task_faults: deque[str] = deque()
        self._request_faults: deque[str] = deque()
        self._overrides: deque[ResultOverride] = deque()
        self._override_all: ResultOverride | None = None
        self._run_overrides: dict[int, ResultOverride] = {}
        self._injected_429 = False
        self.strict = False
        self._change_waiters: list[asyncio.Future[None]] = []

    # -- knobs ----------------------------------------------------------------------------------

    def fail_next(self, code: str, times: int = 1) -> None:
        queue = self._task_faults if _fault_kind(code) == "task" else self._request_faults
        queue.extend([_RENAMED_FAULTS.get(code, code)] * times)

    def respond_with(self, override: ResultOverride, times: int | None) -> None:
        if times is None:
            self._override_all = override
        else:
            self._overrides.extend([override] * times)

    def forget(self) -> None:
        """Drop the knobs and the record of invalid payloads (the state a test leaves behind)."""
        self.invalid = []
        self.warned = []
        self._task_faults.clear()
        self._request_faults.clear()
        self._overrides.clear()
        self._override_all = None
        self._run_overrides.clear()

    # -- waiting for the logs ---------------------------------------------------------------------

    def touch(self) -> None:
        """Count a change of the logs, and wake :meth:`attempts_logged` (runs on the engine's loop)."""
        super().touch()
        waiters, self._change_waiters = self._change_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def attempts_logged(self, attempts: set[tuple[str, int]], timeout: float) -> bool:
        """Wait until the delivery log holds every ``(deliveryId, attempt)`` pair (False after ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if attempts <= {(d["deliveryId"], d["attempt"]) for d in self.deliveries()}:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            self._change_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                return False

    # -- engine hooks ---------------------------------------------------------------------------

    def _note_loop(self) -> None:
        if self.loop is None:
            with contextlib.suppress(RuntimeError):  # no loop: nothing to run on it yet
                self.loop = asyncio.get_running_loop()

    def on_task(self, run: TaskRun) -> None:
        self._note_loop()
        if self._task_faults:
            run.fate = dataclasses.replace(run.fate, failure=self._task_faults.popleft())
        if run.fate.failure is not None:
            return  # a failing task has no results: the override waits for the next one
        override = self._overrides.popleft() if self._overrides else self._override_all
        if override is not None:
            self._run_overrides[id(run)] = override

    def on_result(self, run: TaskRun, item: dict[str, Any]) -> dict[str, Any]:
        override = self._run_overrides.get(id(run))
        if override is None:
            return item
        if callable(override):
            return dict(override(dict(run.task), dict(item)))
        return {**item, **override}

    def admit(self) -> float | None:
        if self._request_faults and self._request_faults[0] == "rateLimitExceeded":
            self._request_faults.popleft()
            self._injected_429 = True
            return _INJECTED_RETRY_AFTER
        return super().admit()

    def authenticate(self, api_key: str | None) -> dict[str, Any] | None:
        if api_key and self._request_faults and self._request_faults[0] == "invalidApiKey":
            self._request_faults.popleft()
            return error_item(
                "invalidApiKey", "Invalid API key (injected by fail_next).", parameter="apiKey",
                task_type="authentication",
            )  # fmt: skip
        return super().authenticate(api_key)

    def request_fault(self) -> str | None:
        if self._request_faults and self._request_faults[0] in REQUEST_FAULT_MESSAGES:
            return self._request_faults.popleft()
        return super().request_fault()

    def check(self, tasks: list[Any]) -> CheckResult:
        self._note_loop()
        found = super().check(tasks)
        if self.in_process:
            for index in list(found):
                kept = [e for e in found[index] if e.code != "forbiddenOutboundTarget"]
                if kept:
                    found[index] = kept
                else:
                    del found[index]
        if found.warnings:
            log = self.requests()
            self.warned.append(InvalidRequest(log[-1]["id"] if log else None, found.warnings))
        if found or (self.strict and found.warnings):
            log = self.requests()
            errors = tuple(e for index in sorted(found) for e in found[index])
            if self.strict:
                errors += found.warnings
            self.invalid.append(InvalidRequest(log[-1]["id"] if log else None, errors))
        return found

    async def handle_rest(self, body: bytes, **transport: Any) -> Reply:
        self._note_loop()
        reply = await super().handle_rest(body, **transport)  # the transport's keywords, whatever the engine takes
        injected_429, self._injected_429 = self._injected_429, False
        for item in reply.body.get("errors", []):
            if item["code"] in ("invalidRequestBody", "unsupportedMediaType"):  # the request, not a task, is wrong
                log = self.requests()
                error = TaskError(code=item["code"], message=item["message"], hint=item.get("hint"))
                self.invalid.append(InvalidRequest(log[-1]["id"] if log else None, (error,)))
            elif item["code"] == "rateLimitExceeded" and injected_429:
                item["message"] = "Too many requests (injected by fail_next)."  # the log holds this same dict
        return reply


def invalid_payload_report(invalid: Sequence[InvalidRequest], who: str = "ideogram_mock") -> str:
    """The failure text for a test whose application sent invalid payloads."""
    count = sum(1 for r in invalid for e in r.errors if not e.is_warning)
    warned = sum(1 for r in invalid for e in r.errors if e.is_warning)
    if not warned:
        head = (
            f"{who} received {len(invalid)} invalid request{'s' if len(invalid) != 1 else ''} "
            f"({count} validation error{'s' if count != 1 else ''}); the mock answered with Runware's errors:"
        )
    else:  # strict: warnings of accepted tasks count as failures too
        parts = [f"{count} validation error{'s' if count != 1 else ''}"] if count else []
        parts.append(f"{warned} warning{'s' if warned != 1 else ''} under strict")
        head = (
            f"{who} received {len(invalid)} request{'s' if len(invalid) != 1 else ''} that fail this strict "
            f"test ({', '.join(parts)}); Runware accepts warned tasks, the mock answered them as it would:"
        )
    lines = [head]
    for request in invalid:
        by_task: dict[tuple[int | None, str | None], list[TaskError]] = {}
        for error in request.errors:
            by_task.setdefault((error.task_index, error.task_uuid), []).append(error)
        head = f"request {request.request_id}" if request.request_id is not None else "a request"
        for (index, uuid), errors in by_task.items():
            where = head if index is None else f"{head}, task {index}" + (f" ({uuid})" if uuid else "")
            lines.append(f"  {where}:")
            lines.extend(f"    {error}" + (f" (hint: {error.hint})" if error.hint else "") for error in errors)
    lines.append(f"Fix the payload, or mark a test that sends invalid payloads on purpose: {OPT_OUT}")
    if any(e.is_warning for request in invalid for e in request.errors):
        lines.append("Warnings fail this test because it runs strict (strict=True or the ini key ideogram_strict).")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Inspection and knobs shared by the in-process mock and the live server
# ---------------------------------------------------------------------------------------------


class _MockControls:
    """What a test reads and turns, for both fixtures."""

    engine: PluginEngine
    allow_invalid: bool

    def _read(self, name: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Received requests, oldest first: ``body`` (parsed), ``tasks`` (validation), ``status``, ``response``."""
        return list(self._read("requests"))

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every task object the application sent (parsed JSON), in order, across all requests."""
        found: list[dict[str, Any]] = []
        for request in self.requests:
            body = request.get("body")
            if isinstance(body, list):
                found.extend(task for task in body if isinstance(task, dict))
        return found

    @property
    def image_tasks(self) -> list[dict[str, Any]]:
        """The ``imageInference`` tasks the application sent (valid or not), in order."""
        return [task for task in self.tasks if task.get("taskType") == "imageInference"]

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The mock's view of each accepted ``imageInference`` task: status, results, error."""
        return list(self._read("tasks"))

    @property
    def results(self) -> list[dict[str, Any]]:
        """Every result item the mock produced (sync answers, polls and webhooks share them)."""
        return [item for run in self.runs for item in run["results"]]

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST and upload PUT attempt, with its outcome."""
        return list(self._read("deliveries"))

    @property
    def invalid(self) -> list[TaskError]:
        """Every validation error the mock answered during this test (and, when strict, every warning)."""
        return [error for request in self.engine.invalid for error in request.errors]

    @property
    def warnings(self) -> list[TaskError]:
        """Every warning of an accepted task during this test: a deprecated parameter (``checkNSFW``), one
        without effect (``ttl`` with base64 output), a value only Runware's general reference lists.
        ``@pytest.mark.ideogram(strict=True)`` (or the ini key ``ideogram_strict``) fails the test on them."""
        return [warning for request in self.engine.warned for warning in request.errors]

    def fail_next(self, code: str = "providerError", times: int = 1) -> None:
        """Make the next ``times`` tasks fail (``providerError`` 500, ``timeoutProvider`` 504) or
        requests be refused (``insufficientCredits`` 402, ``forbidden`` 403, ``rateLimitExceeded`` 429
        with Retry-After, ``serviceUnavailable`` 503, ``queueTimeout`` 504, ``invalidApiKey`` 401)."""
        self.engine.fail_next(code, times)

    def respond_with(self, result: ResultOverride, *, times: int | None = 1) -> None:
        """Change the result items of the next ``times`` tasks (``None``: every task from now on).

        ``result`` is a mapping merged into each item (``{"NSFWContent": True}``) or a function
        ``(task, item) -> item``.
        """
        self.engine.respond_with(result, times)

    def set_latency(self, minimum: float, maximum: float | None = None) -> None:
        """Each task takes ``minimum`` seconds (or a seeded draw up to ``maximum``)."""
        self.configure(latency_min=minimum, latency_max=minimum if maximum is None else maximum)

    def set_seed(self, seed: int) -> None:
        """Seed images, result seeds and the fault plan."""
        self.configure(seed=seed)

    def configure(self, **settings: Any) -> MockConfig:  # pragma: no cover - overridden
        raise NotImplementedError

    def _report(self, start: int = 0) -> str | None:
        """The failure text when invalid payloads arrived (after the first ``start``) and the
        test did not allow them."""
        new = self.engine.invalid[start:]
        if self.allow_invalid or not new:
            return None
        return invalid_payload_report(new, self._fixture)

    _fixture = "ideogram_mock"
