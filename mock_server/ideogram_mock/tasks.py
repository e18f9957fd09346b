"""One ``imageInference`` task as the mock runs it: :class:`TaskRun` (results so far, error, state).

Also what every run shares: :func:`whole_numbers` (integer parameters sent as integral floats,
``1.0``, made ints: whatever the validator accepts, the engine serves) and
:func:`acknowledged_at_once` (async and webhook tasks are acknowledged, not answered with results).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, Literal

from ideogram_kit import schemas

from .config import MockConfig
from .faults import TaskFate
from .images import ImageRecipe
from .records import for_log

__all__ = ["SharedRequest", "TaskRun", "acknowledged_at_once", "base_recipe", "default", "digest", "whole_numbers"]


def _nothing() -> None:
    pass


@functools.cache
def default(path: str) -> Any:
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


def whole_numbers(task: Mapping[str, Any]) -> Mapping[str, Any]:
    """``task`` with integer parameters sent as integral floats (``"numberResults": 1.0``, valid JSON
    Schema integers) turned into ints, so the engine serves whatever the validator accepts. A task
    without such a float is returned as it is (tasks are never changed once parsed)."""
    out = task
    for path in _integer_paths():
        value = out.get(path[0])
        # most paths are absent or hold an int: only a float, or a nested parameter's object, needs a look
        if value.__class__ is float or (len(path) > 1 and value.__class__ is dict):
            out = _with_int(out, path)  # type: ignore[arg-type]  # copies only the dicts on the way to a change
    return out


def _uuid4_text(data: bytes) -> str:
    """``str(uuid.UUID(bytes=data[:16], version=4))``, without building the UUID object."""
    raw = bytearray(data[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def acknowledged_at_once(task: Mapping[str, Any]) -> bool:
    """True when a valid ``imageInference`` task is answered with an acknowledgement, not results
    (``deliveryMethod: "async"`` or a ``webhookURL``)."""
    return task.get("deliveryMethod", default("deliveryMethod")) == "async" or "webhookURL" in task


#: A finished task's request is kept as JSON text up to this size; a larger one (inline reference
#: images) stays parsed, since its strings are shared with the image recipes and text would copy them.
COMPACT_LIMIT = 64 * 1024


class SharedRequest:
    """A request array, shared by the tasks it carried while they run.

    When the first of them finishes, :meth:`compact` encodes it once (``text``); each finished task
    then keeps that one string, decoded again by the rare reader (:attr:`TaskRun.request`).
    """

    __slots__ = ("_text", "value")

    def __init__(self, value: list[Any]) -> None:
        self.value = value
        self._text: str | None = None

    def compact(self) -> str | None:
        """The array as JSON text (made once), or None when it stays parsed (large, or not JSON)."""
        if self._text is None:
            try:
                text = _COMPACT.encode(self.value)
            except (TypeError, ValueError):  # pragma: no cover - built in Python, not parsed
                text = ""
            self._text = text if len(text) <= COMPACT_LIMIT else ""
        return self._text or None


class TaskRun:
    """One ``imageInference`` task: its results so far, its error, its state."""

    # a soak keeps a thousand of these alive at once: no per-instance __dict__
    __slots__ = ("_changed", "_index", "_recipe", "_request", "_task", "base_url", "created_at", "delivery_method",
                 "error", "expected", "fate", "finished_at", "finished_monotonic", "image_uuids", "on_change",
                 "result_bytes", "results", "seeds", "task_uuid")  # fmt: skip

    def __init__(
        self,
        task: Mapping[str, Any],
        config: MockConfig,
        fate: TaskFate,
        base_url: str,
        request: list[Any] | SharedRequest | None = None,
    ) -> None:
        self._task: Mapping[str, Any] | None = whole_numbers(task)  # None once finished (see _compact)
        # the request array the task came in (getTaskDetails), shared by its tasks, then its JSON text;
        # and the task's place in it
        shared = request if isinstance(request, SharedRequest) else SharedRequest(request or [task])
        index = next((i for i, t in enumerate(shared.value) if t is task), None)
        if index is None:  # not a task of that request (built in Python): the task alone
            shared, index = SharedRequest([task]), 0
        self._request: SharedRequest | str = shared
        self._index = index
        self.task_uuid: str = task["taskUUID"]
        self.expected: int = self.task.get("numberResults", default("numberResults"))
        self.fate = fate
        self.base_url = base_url.rstrip("/")
        self.delivery_method: str = task.get("deliveryMethod", default("deliveryMethod"))
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
            while (s := int.from_bytes(digest("seed", config.seed, key, i, n)[:4], "big") & 0x7FFFFFFF) in seeds:
                n += 1  # pragma: no cover - a 31-bit collision
            seeds.append(s)
        # tuples of atomic values: untracked by the garbage collector once it has seen them
        self.seeds = tuple(seeds)
        self.image_uuids = tuple(_uuid4_text(digest("image", config.seed, key, i)) for i in range(self.expected))

    @property
    def task(self) -> Mapping[str, Any]:
        """The task as sent (integral floats of integer parameters made ints); decoded again once finished."""
        task = self._task  # read once: another thread may be looking while the task finishes
        if task is not None:
            return task
        return whole_numbers(self.request[self._index])

    @property
    def request(self) -> list[Any]:
        """The request array the task came in, for getTaskDetails (a fresh copy once finished)."""
        request = self._request  # read once, as above
        if isinstance(request, str):
            return json.loads(request)  # type: ignore[no-any-return]
        return request.value

    def _compact(self) -> None:
        """Keep a finished task in forms the garbage collector does not walk.

        A server remembers ``max_tasks`` finished tasks; as parsed JSON each holds half a dozen
        containers, and every full collection walked them all (80 ms pauses at 10,000 tasks, the
        mock's p99 latency). A finished task keeps its request as one JSON string, made once for
        all the tasks of a request (:class:`SharedRequest`); the rare reader (getTaskDetails, an
        upload still under way, the inspection API) decodes it again.
        """
        self._recipe = None
        request = self._request
        if isinstance(request, SharedRequest) and (text := request.compact()) is not None:
            self._request = text  # before _task goes: a reader on another thread finds one or the other
            self._task = None

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
        self._compact()

    def to_dict(self) -> dict[str, Any]:
        """The task as ``GET /_mock/tasks`` shows it."""
        task = self.task
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
            "webhookURL": task.get("webhookURL"),
            "uploadEndpoint": task.get("uploadEndpoint"),
            "results": [for_log(item) for item in self.results],  # image data is never inlined
            "error": self.error,
        }


def base_recipe(task: Mapping[str, Any]) -> ImageRecipe:
    """The recipe every result of ``task`` shares but for its seed (made once per task)."""
    ideogram = task.get("providerSettings", {}).get("ideogram", {})
    style_parts = [
        ideogram.get("styleType", default("providerSettings.ideogram.styleType")),
        ideogram.get("magicPrompt", default("providerSettings.ideogram.magicPrompt")),
        ideogram.get("renderingSpeed", default("providerSettings.ideogram.renderingSpeed")),
        task.get("negativePrompt", ""),
        hashlib.sha256("\x1f".join(ideogram.get("styleReferenceImages", [])).encode()).hexdigest(),
    ]
    return ImageRecipe(
        reference=task["inputs"]["referenceImages"][0],
        prompt=task["positivePrompt"],
        seed=0,
        strength=ideogram.get("remixStrength", default("providerSettings.ideogram.remixStrength")),
        style="/".join(map(str, style_parts)),
        width=task["width"],
        height=task["height"],
        output_format=task.get("outputFormat", default("outputFormat")),
        quality=task.get("outputQuality", default("outputQuality")),
    )
