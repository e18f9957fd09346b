"""The WebSocket transport: Runware's ``wss://…/v1`` protocol over a :class:`~ideogram_mock.engine.MockEngine`.

``ws://HOST:PORT/v1`` is served by the same engine as ``POST /v1``: validation, results, images,
async state, webhooks, uploads, faults and the request log are the engine's, and this module
only moves frames. :class:`WebSocketHub` holds what belongs to the transport alone: the open
sockets and the sessions (``connectionSessionUUID``) with the frames a dropped socket missed.

The protocol, per socket:

- The first frame must authenticate: ``[{"taskType": "authentication", "apiKey": "…"}]``,
  optionally with the ``connectionSessionUUID`` of an earlier socket to resume it. The answer is
  ``{"data": [{"taskType": "authentication", "connectionSessionUUID": "…"}]}``. A bad or missing
  key gets the engine's ``invalidApiKey``/``missingApiKey`` error frame, then the socket is
  closed with code **1008** (policy violation). Tasks sent before authenticating get a
  ``missingApiKey`` error frame each; the socket stays open.
- Client frames are JSON arrays of tasks (an ``authentication`` task may lead the first one).
  ``ping`` is answered with ``pong``; ``imageInference`` tasks are validated by the engine and
  then run in the background: a sync task's results are pushed **one frame per image** as each
  is ready, an async or webhook task is acknowledged at once. Errors come as ``{"errors": […]}``
  frames tagged with their ``taskUUID``; a frame never mixes ``data`` and ``errors``.
- ``getResponse`` answers the whole state so far, as over REST. If the task is still running,
  the socket then also gets each remaining result (``"status": "success"``) or the error as it
  is ready — the ``runware`` SDK's ``getResponse`` waits for those rather than polling again.
- A frame that is binary, not JSON, nested deeper than ``max_json_depth``, not a non-empty array,
  over ``ws_max_frame_bytes``, with more than ``max_tasks_per_request`` tasks or asking for more
  than ``max_images_per_request`` images gets an error frame (``invalidRequestBody`` /
  ``payloadTooLarge``; none of its tasks run); the socket stays open. A frame
  over twice the start-up ``ws_max_frame_bytes`` is refused by the WebSocket layer (close 1009).
- A socket without a client frame for ``ws_idle_timeout`` seconds is closed with code **1000**;
  over ``ws_max_sockets`` open sockets, a new one is closed at once with code **1013**.
- Frames that could not be sent because the socket was gone (results, acknowledgements, errors
  of its tasks) are kept for ``ws_resume_retention`` seconds, within ``ws_resume_bytes`` over
  all sessions; a client authenticating with that ``connectionSessionUUID`` (and the same key)
  gets them first, in order, then they are forgotten. Resuming a session whose old socket is
  still open moves the session to the new socket and closes the old one (code 1000). Frames
  already written to a socket that then dropped look delivered and are not replayed.

Each received frame is logged in the engine's request log with ``"transport": "ws"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ideogram_kit.payloads import JSONInputError

from . import protocol
from .engine import MockEngine, TaskRun, acknowledged_at_once, check_report, error_item, for_log, redacted

__all__ = ["CLOSE_IDLE", "CLOSE_POLICY", "CLOSE_TRY_AGAIN", "WebSocketHub", "hard_frame_limit"]

CLOSE_IDLE = 1000  #: normal closure: idle for ws_idle_timeout
CLOSE_POLICY = 1008  #: policy violation: authentication failed
CLOSE_TRY_AGAIN = 1013  #: try again later: ws_max_sockets reached
_LOG_LIMIT = 64 * 1024  # frames up to this size are kept verbatim in the request log
_SEND_FAILED = (WebSocketDisconnect, RuntimeError, OSError)


def hard_frame_limit(max_frame_bytes: int) -> int:
    """The WebSocket layer's own frame limit for a server started with ``ws_max_frame_bytes``."""
    return 2 * max_frame_bytes


class _Session:
    """One ``connectionSessionUUID``: its current socket, or the frames it missed while it had none."""

    def __init__(self, session_uuid: str, api_key: str, socket: _Socket) -> None:
        self.uuid = session_uuid
        self.api_key = api_key
        self.socket: _Socket | None = socket
        self.detached_at = 0.0
        self.missed: deque[bytes] = deque()
        self.missed_bytes = 0
        self.watching: set[str] = set()  # taskUUIDs whose remaining results this session is pushed
        self.lock = asyncio.Lock()


class _Socket:
    """One accepted WebSocket connection."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.session: _Session | None = None
        self.sent: list[dict[str, Any]] | None = None  # replies to the frame being handled, for the log

    async def send(self, body: dict[str, Any]) -> None:
        await self.send_encoded(protocol.encode(body))
        if self.sent is not None:
            self.sent.append(body)

    async def send_encoded(self, frame: bytes) -> None:
        await self.websocket.send_text(frame.decode("utf-8"))


class WebSocketHub:
    """The WebSocket side of one app: open sockets and resumable sessions over ``engine``.

    ``await hub.serve(websocket)`` is the ``/v1`` WebSocket endpoint; ``clock`` (monotonic
    seconds) drives session retention.
    """

    def __init__(self, engine: MockEngine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._clock = clock
        self._sessions: OrderedDict[str, _Session] = OrderedDict()  # detached ones in detach order
        self._open = 0
        self._missed_bytes = 0
        self._pumps: set[asyncio.Task[None]] = set()

    # -- the endpoint ------------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one WebSocket connection until the client leaves, fails to authenticate, or idles."""
        await websocket.accept()
        if self._open >= self.engine.config.ws_max_sockets:
            await websocket.close(CLOSE_TRY_AGAIN, f"more than {self.engine.config.ws_max_sockets} open sockets")
            return
        self._open += 1
        sock = _Socket(websocket)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(websocket.receive(), self.engine.config.ws_idle_timeout)
                except asyncio.TimeoutError:
                    timeout = self.engine.config.ws_idle_timeout
                    await _close(websocket, CLOSE_IDLE, f"idle for {timeout:g} s")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                if not await self._frame(sock, message.get("text"), message.get("bytes")):
                    return
        except _SEND_FAILED:
            return  # the client went away while we answered
        finally:
            self._open -= 1
            if sock.session is not None:
                self._detach(sock.session, sock)

    # -- one frame ------------------------------------------------------------------------------------

    async def _frame(self, sock: _Socket, text: str | None, data: bytes | None) -> bool:
        """Handle one client frame; False when the socket must close."""
        raw: bytes | str = text if text is not None else data or b""
        size = len(text.encode("utf-8")) if text is not None else len(raw)
        entry = self.engine.log_request(
            "ws", size, connectionSessionUUID=sock.session.uuid if sock.session is not None else None
        )
        sock.sent = []
        try:
            return await self._answer(sock, text, raw, size, entry)
        finally:
            entry["response"] = for_log(sock.sent) if size <= _LOG_LIMIT else {"omitted": "large request"}
            sock.sent = None
            self.engine.logged(entry)  # counted against the log's byte budget; the dashboard shows the answer

    async def _answer(self, sock: _Socket, text: str | None, raw: bytes | str, size: int,
                      entry: dict[str, Any]) -> bool:  # fmt: skip
        limit = self.engine.config.ws_max_frame_bytes
        if size > limit:
            err = error_item("payloadTooLarge", f"The frame is {size} bytes; the limit is {limit}.", max=limit)
            await self._reply(sock, {"errors": [err]})
            return True
        if text is None:
            message = "Binary frames are not accepted: send the JSON array of tasks as a text frame."
            await self._reply(sock, {"errors": [error_item("invalidRequestBody", message)]})
            return True
        try:
            tasks = self.engine.parse(raw)
        except JSONInputError as exc:
            await self._reply(sock, {"errors": [error_item("invalidRequestBody", f"The frame is not JSON: {exc}")]})
            return True
        entry["body"] = redacted(tasks) if size <= _LOG_LIMIT else "omitted (large frame)"
        if not isinstance(tasks, list) or not tasks:
            message = "A frame must be a non-empty JSON array of task objects."
            hint = 'wrap the task in a list: [{"taskType": "ping", "ping": true}]'
            await self._reply(sock, {"errors": [error_item("invalidRequestBody", message, hint=hint)]})
            return True
        if (too_many := self.engine.too_many_tasks(tasks, "frame")) is not None:
            await self._reply(sock, {"errors": [too_many]})
            return True
        auth = [t for t in tasks if isinstance(t, dict) and t.get("taskType") == "authentication"]
        if sock.session is None:
            if not auth:
                await self._reply(sock, {"errors": [_unauthenticated(t) for t in tasks]})
                return True
            key = auth[0].get("apiKey")
            api_key = key if isinstance(key, str) else ""
            refused = self.engine.authenticate(api_key)
            if refused is not None:
                await sock.send({"errors": [refused]})
                entry["closed"] = CLOSE_POLICY
                await _close(sock.websocket, CLOSE_POLICY, refused["message"])
                return False
            await self._attach(sock, api_key, auth[0].get("connectionSessionUUID"))
            entry["connectionSessionUUID"] = sock.session.uuid if sock.session is not None else None
        elif auth:
            await sock.send({"data": [_auth_reply(sock.session.uuid)]})
        work = [t for t in tasks if not (isinstance(t, dict) and t.get("taskType") == "authentication")]
        if work:
            await self._tasks(sock, work, entry)
        return True

    async def _tasks(self, sock: _Socket, tasks: list[Any], entry: dict[str, Any]) -> None:
        engine = self.engine
        if any(not isinstance(t, dict) or t.get("taskType") != "ping" for t in tasks):
            retry_after = engine.admit()
            if retry_after is not None:
                refused = [engine.rate_limit_error(retry_after, task_uuid=_uuid_of(t), task_type=_type_of(t))[1]
                           for t in tasks if _type_of(t) != "ping"]  # fmt: skip
                await self._reply(sock, {"errors": refused})
                tasks = [t for t in tasks if _type_of(t) == "ping"]
            elif (fault := engine.request_fault()) is not None:
                refused = [engine.request_fault_error(fault, task_uuid=_uuid_of(t), task_type=_type_of(t))[1]
                           for t in tasks if _type_of(t) != "ping"]  # fmt: skip
                await self._reply(sock, {"errors": refused})
                tasks = [t for t in tasks if _type_of(t) == "ping"]
        found = engine.check(tasks)
        entry["tasks"] = check_report(tasks, found)
        if (too_many := engine.too_many_images(tasks, found, "frame")) is not None:
            await self._reply(sock, {"errors": [too_many]})
            return
        base_url = _http_base(sock.websocket)
        for index, task in enumerate(tasks):
            if index in found:
                await self._reply(sock, {"errors": [e.to_dict() for e in found[index]]})
            elif task["taskType"] == "ping":
                await sock.send({"data": [{"taskType": "ping", "pong": True}]})
            elif task["taskType"] == "getResponse":
                await self._get_response(sock, task["taskUUID"])
            elif task["taskType"] == "getTaskDetails":
                data, errors = engine.task_details(task["taskUUID"])
                await self._reply(sock, {"data": data} if data else {"errors": errors})
            else:
                run = engine.submit(task, base_url=base_url, request=tasks)
                if acknowledged_at_once(task):
                    await self._reply(sock, {"data": [{"taskType": "imageInference", "taskUUID": run.task_uuid}]})
                else:
                    self._pump(sock, run, skip=0, polled=False)

    async def _get_response(self, sock: _Socket, task_uuid: str) -> None:
        data, errors = self.engine.get_response(task_uuid)
        if data:
            await self._reply(sock, {"data": data})
        if errors:
            await self._reply(sock, {"errors": errors})
        run = self.engine.task(task_uuid)
        if run is not None and not run.done:
            self._pump(sock, run, skip=len([item for item in data if item.get("status") == "success"]), polled=True)

    # -- sending -------------------------------------------------------------------------------------

    async def _reply(self, sock: _Socket, body: dict[str, Any]) -> None:
        """Answer a task: through the session once authenticated, so a drop keeps it for resume."""
        if sock.session is None:
            await sock.send(body)
            return
        if sock.sent is not None:
            sock.sent.append(body)
        await self._deliver(sock.session, protocol.encode(body))

    async def _deliver(self, session: _Session, frame: bytes) -> None:
        async with session.lock:
            sock = session.socket
            if sock is not None:
                try:
                    await sock.send_encoded(frame)
                    return
                except _SEND_FAILED:
                    self._detach(session, sock)
            if session.uuid not in self._sessions:
                return  # expired or evicted: nobody can resume it any more
            session.missed.append(frame)
            session.missed_bytes += len(frame)
            self._missed_bytes += len(frame)
            self._prune()

    def _pump(self, sock: _Socket, run: TaskRun, *, skip: int, polled: bool) -> None:
        """Push the results of ``run`` after the first ``skip`` to ``sock``'s session as they are ready."""
        session = sock.session
        if session is None or (polled and run.task_uuid in session.watching):
            return
        session.watching.add(run.task_uuid)

        async def pump() -> None:
            try:
                index = 0
                async for item in run.stream():
                    if index >= skip:
                        failed = item is run.error
                        if polled:
                            item = {**item, "status": "error" if failed else "success"}
                        await self._deliver(session, protocol.encode({"errors" if failed else "data": [item]}))
                    index += 1
            finally:
                session.watching.discard(run.task_uuid)

        task = asyncio.ensure_future(pump())
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)

    # -- sessions -------------------------------------------------------------------------------------

    async def _attach(self, sock: _Socket, api_key: str, wanted: Any) -> None:
        self._prune()
        session = self._sessions.get(wanted) if isinstance(wanted, str) else None
        if session is None or session.api_key != api_key:
            session = _Session(str(uuid.uuid4()), api_key, sock)
            self._sessions[session.uuid] = session
            sock.session = session
            await sock.send({"data": [_auth_reply(session.uuid)]})
            return
        async with session.lock:
            previous, session.socket = session.socket, sock
            sock.session = session
            self._sessions.move_to_end(session.uuid)
            if previous is not None:  # resumed before the server noticed the old socket drop
                previous.session = None
                with contextlib.suppress(*_SEND_FAILED):
                    await _close(previous.websocket, CLOSE_IDLE, "the session was resumed on another socket")
            await sock.send({"data": [_auth_reply(session.uuid)]})
            while session.missed:
                frame = session.missed[0]
                await sock.send_encoded(frame)
                session.missed.popleft()
                session.missed_bytes -= len(frame)
                self._missed_bytes -= len(frame)

    def _detach(self, session: _Session, sock: _Socket) -> None:
        if session.socket is sock:
            session.socket = None
            session.detached_at = self._clock()
            if session.uuid in self._sessions:
                self._sessions.move_to_end(session.uuid)

    def _prune(self) -> None:
        """Forget dropped sessions past retention, then the oldest while over the byte or count budget."""
        cfg = self.engine.config
        now = self._clock()
        detached = [s for s in self._sessions.values() if s.socket is None]
        over = len(detached) - cfg.ws_max_sockets
        for session in detached:
            expired = session.detached_at + cfg.ws_resume_retention <= now
            if expired or over > 0 or self._missed_bytes > cfg.ws_resume_bytes:
                self._forget(session)
                over -= 1

    def _forget(self, session: _Session) -> None:
        del self._sessions[session.uuid]
        self._missed_bytes -= session.missed_bytes
        session.missed.clear()
        session.missed_bytes = 0


def _type_of(task: Any) -> Any:
    return task.get("taskType") if isinstance(task, dict) else None


def _uuid_of(task: Any) -> str | None:
    value = task.get("taskUUID") if isinstance(task, dict) else None
    return value if isinstance(value, str) else None


def _auth_reply(session_uuid: str) -> dict[str, Any]:
    return {"taskType": "authentication", "connectionSessionUUID": session_uuid}


def _unauthenticated(task: Any) -> dict[str, Any]:
    kind = _type_of(task)
    return error_item(
        "missingApiKey",
        'Not authenticated: the first frame must be [{"taskType": "authentication", "apiKey": "<key>"}].',
        parameter="apiKey",
        task_type=kind if isinstance(kind, str) else None,
        task_uuid=_uuid_of(task),
    )


def _http_base(websocket: WebSocket) -> str:
    """The HTTP base URL of the server a socket reached (imageURLs are served over HTTP)."""
    url = websocket.base_url
    return str(url.replace(scheme={"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    encoded = reason.encode("utf-8")
    if len(encoded) > 123:  # the protocol's limit for a close reason
        reason = encoded[:120].decode("utf-8", "ignore") + "..."
    await websocket.close(code, reason)
