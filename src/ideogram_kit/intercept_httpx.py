"""httpx calls to ``ideogram_mock``'s bases, answered in process through a respx router.

respx calls ``handler`` for sync clients and ``async_handler`` for async ones. A request for
another host is left to the other respx routers when there are any (a test's ``respx_mock``
then says it is not mocked, as it would without the kit), and otherwise passes through
untouched: the mock only takes over Runware's API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import respx
from respx.models import AllMockedAssertionError, PassThrough, Route

if TYPE_CHECKING:
    from .inprocess_mock import IdeogramMock


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return read if isinstance(read, (int, float)) else None


class HttpxRouter(respx.MockRouter):
    """A respx router that hands requests for the mock's bases to :class:`IdeogramMock`."""

    def __init__(self, mock: IdeogramMock) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpcore")
        self._mock = mock
        self._origin = Route()

    def _decline(self, request: httpx.Request) -> None:
        others = [r for r in (self.Mocker.routers if self.Mocker else []) if r is not self]
        if others:
            raise AllMockedAssertionError(f"RESPX: {request!r} not mocked!")
        raise PassThrough(f"not a Runware request: {request!r}", request=request, origin=self._origin)

    def handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock.base_for(request.url)
        if base is None:
            self._decline(request)
        assert base is not None
        timeout = _read_timeout(request)
        try:
            response = self._mock.answer(request, base, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout(f"the mock did not answer within {timeout} s", request=request) from None
        self.record(request, response=response)
        return response

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock.base_for(request.url)
        if base is None:
            self._decline(request)
        assert base is not None
        timeout = _read_timeout(request)
        try:
            response = await self._mock.aanswer(request, base, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout(f"the mock did not answer within {timeout} s", request=request) from None
        self.record(request, response=response)
        return response
