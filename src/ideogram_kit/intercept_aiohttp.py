"""aiohttp calls to ``ideogram_mock``'s bases, answered in process through ``aioresponses``.

One :class:`aioresponses.aioresponses` holds a callback per HTTP method whose URL pattern is the
mock's bases (the official ``runware-sdk`` posts through ``aiohttp.ClientSession``). The callback
rebuilds the request aiohttp would have sent (session headers included: aioresponses merges them;
``json=`` serialized as aiohttp does, ``data=`` bytes, text or a form) as an ``httpx.Request`` and
awaits the engine's answer on the application's own event loop.

Requests for other hosts pass through (``passthrough_unmatched``) to whatever
``ClientSession._request`` was in place when the mock started: aiohttp itself, or an
``aioresponses`` mock the test started earlier. One started later, inside the test, sees every
request first: register such routes on ``ideogram_mock.aioresponses`` instead.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import httpx
from aioresponses import CallbackResult, aioresponses
from multidict import CIMultiDict
from yarl import URL

from .intercept_requests import METHODS

if TYPE_CHECKING:
    from .inprocess_mock import IdeogramMock, _Base


def _timeout(timeout: Any) -> float | None:
    """The seconds an aiohttp ``timeout=`` allows for the answer (``total``, else ``sock_read``)."""
    if isinstance(timeout, aiohttp.ClientTimeout):
        limits = [t for t in (timeout.total, timeout.sock_read) if t is not None]
        return min(limits) if limits else None
    return float(timeout) if isinstance(timeout, (int, float)) else None


def _headers(headers: Any) -> CIMultiDict[str]:
    if headers is None:
        return CIMultiDict()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return CIMultiDict((str(k), str(v)) for k, v in items)


def _body(kwargs: Mapping[str, Any], headers: CIMultiDict[str]) -> bytes:
    """The bytes aiohttp sends for ``json=`` or ``data=``, setting its default Content-Type."""
    if kwargs.get("json") is not None:
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(kwargs["json"]).encode("utf-8")
    data = kwargs.get("data")
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        headers.setdefault("Content-Type", "application/octet-stream")
        return bytes(data)
    if isinstance(data, str):
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return data.encode("utf-8")
    if isinstance(data, Mapping) or (isinstance(data, Iterable) and not isinstance(data, aiohttp.FormData)):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        items = data.items() if isinstance(data, Mapping) else data
        return urllib.parse.urlencode(list(items)).encode("ascii")
    raise TypeError(
        f"ideogram_mock cannot read an aiohttp data= of type {type(data).__name__}: send json=, bytes, text or a dict"
    )


class _Response(aiohttp.ClientResponse):
    """aiohttp's response as aioresponses builds it, given the ``stream_writer`` aiohttp 3.14 requires
    (aioresponses 0.7.9 does not pass it; the body is complete, so the writer is only asked its size)."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


class _Aioresponses(aioresponses):
    """aioresponses whose routes build :class:`_Response` unless told otherwise (so that routes a
    test adds to ``ideogram_mock.aioresponses`` work on aiohttp 3.14 too)."""

    def add(self, url: Any, method: str = "GET", *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _Response)
        super().add(url, method, *args, **kwargs)


def _reason(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # pragma: no cover - the mock answers with standard statuses only
        return None


class AiohttpInterceptor:
    """Answers aiohttp for the mock's bases; :attr:`mock` is the ``aioresponses`` object."""

    def __init__(self, mock: IdeogramMock, bases: Iterable[_Base]) -> None:
        self._mock = mock
        self._pattern = re.compile("|".join(f"(?:{base.pattern()})" for base in bases))
        self.mock: aioresponses | None = None

    def start(self) -> aioresponses:
        self.mock = _Aioresponses(passthrough_unmatched=True)
        self.mock.start()
        for method in METHODS:
            self.mock.add(self._pattern, method=method, callback=self._callback_for(method), repeat=True)
        return self.mock

    def stop(self) -> None:
        mock, self.mock = self.mock, None
        if mock is not None:
            mock.stop()

    def _callback_for(self, method: str) -> Callable[..., Awaitable[CallbackResult]]:
        async def callback(url: URL, **kwargs: Any) -> CallbackResult:
            return await self._answer(method, url, kwargs)

        return callback

    async def _answer(self, method: str, url: URL, kwargs: Mapping[str, Any]) -> CallbackResult:
        base = self._mock.base_for(httpx.URL(str(url)))
        if base is None:  # pragma: no cover - the pattern matches only URLs of the bases
            raise aiohttp.ClientConnectionError(f"ideogram_mock does not answer {url}")
        headers = _headers(kwargs.get("headers"))
        content = _body(kwargs, headers)
        request = httpx.Request(method, str(url), headers=list(headers.items()), content=content)
        timeout = _timeout(kwargs.get("timeout"))
        try:
            response = await self._mock.aanswer(request, base, timeout)
        except TimeoutError:
            raise asyncio.TimeoutError(f"the mock did not answer within {timeout} s") from None
        answer_headers = CIMultiDict(response.headers.multi_items())
        return CallbackResult(
            method=method,
            status=response.status_code,
            body=response.content,
            headers=cast(Any, answer_headers),  # a multidict keeps repeated names (typed as a dict)
            content_type=answer_headers.get("Content-Type", "application/octet-stream"),
            reason=_reason(response.status_code),
            response_class=_Response,
        )
