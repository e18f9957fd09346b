"""requests calls to ``ideogram_mock``'s bases, answered in process through the ``responses`` library.

One :class:`responses.RequestsMock` holds a callback per HTTP method whose URL pattern is the
mock's bases; the callback turns the ``PreparedRequest`` into an ``httpx.Request`` and hands it
to the same engine the httpx path uses, so both clients get the same answers, byte for byte.

Requests for other hosts are passed on to whatever sent requests before the mock started: the
real ``HTTPAdapter.send``, or a ``responses`` mock the test started earlier (a fixture set up
before ``ideogram_mock``). A ``responses`` mock started later, inside the test, sees every
request first and knows nothing of Runware: register such routes on ``ideogram_mock.responses``
instead (it is an ordinary ``responses.RequestsMock``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import httpx
import requests
import responses

if TYPE_CHECKING:
    from .inprocess_mock import IdeogramMock, _Base

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _read_timeout(timeout: Any) -> float | None:
    """requests' ``timeout``: a number, a ``(connect, read)`` pair, or None."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    return float(timeout) if isinstance(timeout, (int, float)) else None


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, Iterable):  # a generator: requests sends it chunked
        return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in body)
    raise TypeError(f"ideogram_mock cannot read a requests body of type {type(body).__name__}")


class RequestsInterceptor:
    """Answers requests (the library) for the mock's bases; :attr:`mock` is the ``RequestsMock``."""

    def __init__(self, mock: IdeogramMock, bases: Iterable[_Base]) -> None:
        self._mock = mock
        self._pattern = re.compile("|".join(f"(?:{base.pattern()})" for base in bases))
        self.mock: responses.RequestsMock | None = None

    def start(self) -> responses.RequestsMock:
        # Unmatched requests go to the send in place now (the real one, or an earlier responses mock).
        previous = requests.adapters.HTTPAdapter.send
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False, real_adapter_send=cast(Any, previous))
        for method in METHODS:
            self.mock.add_callback(method, self._pattern, callback=cast(Any, self._callback), content_type=None)
        self.mock.add_passthru(re.compile(".*"))  # reached only by requests no route matched
        self.mock.start()
        return self.mock

    def stop(self) -> None:
        mock, self.mock = self.mock, None
        if mock is not None:
            mock.stop(allow_assert=False)

    def _callback(self, prepared: requests.PreparedRequest) -> tuple[int, list[tuple[str, str]], bytes] | Exception:
        """``responses``' callback: the status, the header list (repeated names kept) and the body."""
        url = str(prepared.url)
        base = self._mock.base_for(httpx.URL(url))
        if base is None:  # pragma: no cover - the pattern matches only URLs of the bases
            return requests.ConnectionError(f"ideogram_mock does not answer {url}")
        headers = [(k, v if isinstance(v, str) else v.decode("latin-1")) for k, v in prepared.headers.items()]
        request = httpx.Request(str(prepared.method), url, headers=headers, content=_body(prepared.body))
        kwargs: dict[str, Any] = getattr(prepared, "req_kwargs", {})
        timeout = _read_timeout(kwargs.get("timeout"))
        try:
            response = self._mock.answer(request, base, timeout)
        except TimeoutError:
            return requests.exceptions.ReadTimeout(f"the mock did not answer within {timeout} s", request=prepared)
        return response.status_code, list(response.headers.multi_items()), response.content
