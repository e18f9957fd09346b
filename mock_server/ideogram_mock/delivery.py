"""Outbound calls: webhook POSTs and upload PUTs, with retries and an allow-list.

Webhooks and uploads only reach loopback addresses (``127.0.0.0/8``, ``::1``, ``localhost``)
or hosts named in ``MockConfig.outbound_allow``; :func:`check_target` refuses anything else
before the task runs, so a test server cannot be turned against other hosts (no SSRF). Host
names are compared, never resolved: a name other than ``localhost`` and the allowed ones is
refused whatever it resolves to. Addresses count only in their canonical text form, so
``0.0.0.0``, ``127.1``, ``2130706433``, ``0x7f000001`` and ``localhost.`` are refused;
``::ffff:127.0.0.1`` (IPv4-mapped) is loopback on every Python version. Redirects are never
followed: a 3xx answer is a failed attempt.

Each delivery is tried up to ``delivery_attempts`` times; a non-2xx answer or a connection
failure waits ``delivery_base_delay * 2**(attempt-1)`` seconds (capped at ``delivery_max_delay``,
scaled by a seeded jitter: Runware's documented 250 ms doubling to 8 s) and tries again. A URL
that cannot be requested at all (say, a lone surrogate in its path) is a failed attempt with
its reason, never a lost delivery. At most
``delivery_concurrency`` attempts are in flight at once, and at most ``delivery_per_host`` to any
one host: the rest wait outside httpx (whose pool slows down with long queues, and whose pool
wait would count against ``delivery_timeout``), and a hanging receiver holds only its own share. Every attempt
carries the same ``X-Delivery-ID`` (and its number in ``X-Delivery-Attempt``) and is recorded
as a :class:`DeliveryAttempt`. ``delivery_timeout`` bounds each attempt as a whole (a receiver
trickling its answer byte by byte cannot stretch it), and at most 64 KiB of an answer's body is
read (the rest is dropped with the connection).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

import httpx

from .config import MockConfig

__all__ = ["DELIVERY_ID_HEADER", "Deliverer", "DeliveryAttempt", "check_target", "is_loopback_address"]

DELIVERY_ID_HEADER = "X-Delivery-ID"
ATTEMPT_HEADER = "X-Delivery-Attempt"
_ANSWER_BYTES = 64 * 1024  # most bytes of a receiver's answer body read (a small one keeps the connection)


def check_target(url: str, allow: tuple[str, ...]) -> str | None:
    """None when ``url`` may be called, else why not (one sentence)."""
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        return "The URL holds invalid Unicode (a lone surrogate), so no HTTP request can carry it."
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return f"{url!r} is not a usable URL."
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http or https URL."
    if not host:
        return f"{url!r} has no host."
    if host == "localhost" or is_loopback_address(host):
        return None
    allowed = {a.lower() for a in allow}
    if host in allowed or (port is not None and f"{host}:{port}" in allowed):
        return None
    return f"The mock only calls loopback addresses and the hosts in its outbound_allow setting; {host} is neither."


def is_loopback_address(host: str) -> bool:
    """A loopback IP address in its canonical text form (``127.0.0.0/8``, ``[::1]``, IPv4-mapped)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def retry_delay(cfg: MockConfig, delivery_id: str, attempt: int) -> float:
    """Seconds to wait after failed ``attempt``: ``delivery_base_delay`` doubling per attempt, capped at
    ``delivery_max_delay``, scaled by a seeded factor in ``[1 - delivery_jitter, 1 + jitter]`` (capped again)."""
    delay: float = min(cfg.delivery_base_delay * 2.0 ** (attempt - 1), cfg.delivery_max_delay)
    if cfg.delivery_jitter:
        factor = random.Random(f"{cfg.seed}/retry/{delivery_id}/{attempt}").uniform(
            1 - cfg.delivery_jitter, 1 + cfg.delivery_jitter
        )
        delay = min(delay * factor, cfg.delivery_max_delay)
    return delay


async def _exchange(client: httpx.AsyncClient, request: httpx.Request) -> int:
    """Send ``request``; its answer's status, after reading at most ``_ANSWER_BYTES`` of the body."""
    response = await client.send(request, stream=True)
    try:
        size = 0
        if not response.is_stream_consumed:  # (a transport may hand back a response already read)
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > _ANSWER_BYTES:
                    break
        return response.status_code
    finally:
        await response.aclose()


@dataclass(slots=True)
class DeliveryAttempt:
    """One webhook POST or upload PUT attempt, as ``GET /_mock/deliveries`` lists it."""

    deliveryId: str
    kind: str  # "webhook" or "upload"
    url: str
    taskUUID: str
    imageUUID: str | None
    attempt: int
    outcome: str  # "delivered", "failed" (will retry or gave up), "dropped", "cancelled"
    statusCode: int | None
    error: str | None
    final: bool
    at: float

    def to_dict(self) -> dict[str, Any]:
        # every field is a scalar, so no deep copy (asdict) is needed; the log converts each attempt on every read
        return {name: getattr(self, name) for name in _ATTEMPT_FIELDS}


_ATTEMPT_FIELDS = tuple(f.name for f in fields(DeliveryAttempt))


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery waiting for its turn: the arguments of :meth:`Deliverer.deliver`."""

    kind: str
    delivery_id: str
    method: str
    url: str
    content: bytes
    content_type: str
    task_uuid: str
    image_uuid: str | None
    record: Callable[[DeliveryAttempt], None]


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url


class Deliverer:
    """Sends deliveries with retries through one shared httpx client, recording each attempt.

    :meth:`submit` queues a delivery per target host (first in, first out); at most
    ``delivery_per_host`` pump tasks per host work a queue off. A waiting delivery is a small
    :class:`Job`, not a task of its own, so a backlog of thousands costs little memory, and a
    hanging host's pumps only ever wait on that host.
    """

    def __init__(
        self,
        config: Callable[[], MockConfig],
        transport: httpx.AsyncBaseTransport | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        self._spawn = spawn or asyncio.ensure_future
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._queues: dict[str, collections.deque[Job]] = {}
        self._pumps: collections.Counter[str] = collections.Counter()
        self._generation = 0  # abandon() starts a new one: pumps of an older one keep off the books

    @property
    def queued(self) -> int:
        """Deliveries waiting for a pump (not yet on their first attempt)."""
        return sum(len(q) for q in self._queues.values())

    def submit(self, job: Job) -> None:
        """Queue ``job`` behind the earlier deliveries to the same host."""
        host = _host_of(job.url)
        self._queues.setdefault(host, collections.deque()).append(job)
        if self._pumps[host] < self._config().delivery_per_host:
            self._pumps[host] += 1
            self._spawn(self._pump(host))

    async def _pump(self, host: str) -> None:
        generation = self._generation
        try:
            queue = self._queues.get(host)
            while queue:
                job = queue.popleft()
                await self.deliver(
                    job.kind, job.delivery_id, job.method, job.url, job.content, job.content_type,
                    job.task_uuid, job.image_uuid, job.record,
                )  # fmt: skip
        finally:
            if generation == self._generation:  # a pump of an abandoned generation counts nothing
                self._pumps[host] -= 1
                if self._pumps[host] <= 0:
                    del self._pumps[host]
                    if not self._queues.get(host):
                        self._queues.pop(host, None)

    def abandon(self, *, report: bool) -> int:
        """Drop every queued delivery (after the pumps were cancelled); record each as cancelled."""
        dropped = 0
        for queue in self._queues.values():
            while queue:
                job = queue.popleft()
                dropped += 1
                if report:
                    job.record(
                        self._attempt(
                            job.kind, job.delivery_id, job.url, job.task_uuid, job.image_uuid, 0,
                            "cancelled", None, "shut down before the first attempt", True,
                        )
                    )  # fmt: skip
        self._queues.clear()
        self._pumps.clear()
        self._generation += 1
        return dropped

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
            self._client = httpx.AsyncClient(
                transport=self._transport, follow_redirects=False, trust_env=False, limits=limits
            )
            self._loop = loop
            self._slots = None
        return self._client

    def _turn(self) -> asyncio.Semaphore:
        """The semaphore every attempt holds: ``delivery_concurrency`` in flight at once.

        The per-host limit needs none: at most ``delivery_per_host`` pumps work a host's queue.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._config().delivery_concurrency)
        return self._slots

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # created on a loop that is gone
                await client.aclose()

    async def deliver(
        self,
        kind: str,
        delivery_id: str,
        method: str,
        url: str,
        content: bytes,
        content_type: str,
        task_uuid: str,
        image_uuid: str | None,
        record: Callable[[DeliveryAttempt], None],
    ) -> bool:
        """Send until a 2xx answer or the attempts run out, passing each attempt to ``record``."""
        cfg = self._config()
        attempts = cfg.delivery_attempts
        for attempt in range(1, attempts + 1):
            status: int | None = None
            error: str | None = None
            hopeless = False  # a URL no request can carry: retrying cannot help
            headers = {
                "Content-Type": content_type,
                DELIVERY_ID_HEADER: delivery_id,
                ATTEMPT_HEADER: str(attempt),
                "User-Agent": "ideogram-remix-kit-mock",
            }
            try:
                client = self._http()
                async with self._turn():
                    request = client.build_request(
                        method, url, content=content, headers=headers, timeout=cfg.delivery_timeout
                    )
                    status = await asyncio.wait_for(_exchange(client, request), cfg.delivery_timeout)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except (httpx.InvalidURL, ValueError) as exc:  # e.g. a lone surrogate in the URL (UnicodeError)
                error = f"the URL cannot be requested: {type(exc).__name__}: {str(exc)[:200]}"
                hopeless = True
            except asyncio.TimeoutError:
                error = f"no answer within delivery_timeout ({cfg.delivery_timeout:g} s)"
            except asyncio.CancelledError:
                record(
                    self._attempt(
                        kind,
                        delivery_id,
                        url,
                        task_uuid,
                        image_uuid,
                        attempt,
                        "cancelled",
                        None,
                        "shut down before the attempt finished",
                        True,
                    )
                )
                raise
            ok = status is not None and 200 <= status < 300
            final = ok or hopeless or attempt == attempts
            if error is None and not ok:
                error = f"HTTP {status}"
            outcome = "delivered" if ok else "failed"
            record(self._attempt(kind, delivery_id, url, task_uuid, image_uuid, attempt, outcome, status, error, final))
            if ok or final:
                return ok
            await asyncio.sleep(retry_delay(cfg, delivery_id, attempt))
        return False

    def dropped(
        self,
        delivery_id: str,
        url: str,
        task_uuid: str,
        image_uuid: str | None,
        record: Callable[[DeliveryAttempt], None],
    ) -> None:
        record(
            self._attempt(
                "webhook",
                delivery_id,
                url,
                task_uuid,
                image_uuid,
                0,
                "dropped",
                None,
                "dropped by the fault plan (webhook_drop_rate)",
                True,
            )
        )

    @staticmethod
    def _attempt(
        kind: str,
        delivery_id: str,
        url: str,
        task_uuid: str,
        image_uuid: str | None,
        attempt: int,
        outcome: str,
        status: int | None,
        error: str | None,
        final: bool,
    ) -> DeliveryAttempt:
        return DeliveryAttempt(
            delivery_id, kind, url, task_uuid, image_uuid, attempt, outcome, status, error, final, time.time()
        )
