"""The pytest plugin (registered with a ``pytest11`` entry point): Runware mocks as fixtures.

Fixtures:

- ``ideogram_mock``: the mock in process. httpx (sync and async), requests and aiohttp calls to
  ``https://api.runware.ai/v1`` and the configured base URLs are answered by the mock's app,
  image URLs included; no socket. See :class:`ideogram_kit.pytest_support.IdeogramMock`.
- ``ideogram_server``: the mock on ``127.0.0.1`` (one server per session, reset per test) for
  other HTTP clients, the official SDKs and WebSockets: ``url``, ``base_url``, ``ws_url``.
- ``ideogram_webhook_receiver``: a loopback HTTP server recording every webhook POST and upload
  PUT attempt, accepted or refused.
- ``ideogram_validate``: ``ideogram_validate(payload)`` fails the test naming every mistake.
- ``ideogram_settings``: the per-test settings the others read (override it to change them).
- ``ideogram_webhook_body``: requested by a test, runs it once per webhook body shape (``flat``,
  ``data``), the mock configured accordingly.

A test whose application sends an invalid payload to ``ideogram_mock`` or ``ideogram_server``
fails, with every bad parameter in the report, unless it is marked
``@pytest.mark.ideogram(allow_invalid=True)``.

The network guard (:mod:`ideogram_kit.network_guard`) fails a test that reaches for Runware's API
host when no fixture answers it, naming the fixtures to use; ``ideogram_network_guard = false``
in the ini file turns it off.

This module holds hooks and fixtures only and imports the mock lazily inside the fixtures, so
a session that uses none of them starts no thread, opens no socket and imports no server code.
The hypothesis strategies of :mod:`ideogram_kit.strategies` can be imported from here too
(``from ideogram_kit.plugin import valid_tasks``).
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import network_guard

if TYPE_CHECKING:
    from .pytest_support import IdeogramMock, IdeogramServer, IdeogramSettings, WebhookReceiver

_STRATEGIES = (
    "InvalidCase",
    "image_references",
    "invalid_tasks",
    "requests",
    "responses",
    "sample",
    "typed_tasks",
    "valid_tasks",
)
_MARKER_HELP = (
    "ideogram(allow_invalid=False, strict=False, seed=None, latency=None, fail_next=None, base_url=None, "
    "**mock_settings): per-test settings of the ideogram_mock / ideogram_server fixtures; allow_invalid=True lets "
    "the test send invalid payloads without failing; strict=True fails it on warnings too (checkNSFW, ttl without "
    "URL output, ...); other keywords are MockConfig settings (failure_rate=0.5, webhook_body='data', ...)"
)
_ACTIVE = pytest.StashKey[list[list[Any]]]()
_SESSION_SETTINGS = pytest.StashKey["IdeogramSettings"]()
_GUARD = pytest.StashKey[network_guard.NetworkGuard]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ideogram", "ideogram-remix-kit (Runware ideogram:1@2 mock)")
    group.addoption(
        "--ideogram-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the ideogram mock's images and faults (ini: ideogram_seed; default 0)",
    )
    group.addoption(
        "--ideogram-base-url",
        action="append",
        default=None,
        metavar="URL",
        help="an API base URL ideogram_mock intercepts besides https://api.runware.ai/v1 (repeatable; "
        "ini: ideogram_base_url)",
    )
    group.addoption(
        "--ideogram-allow-invalid",
        action="store_true",
        default=None,
        help="do not fail tests that send invalid payloads (ini: ideogram_allow_invalid)",
    )
    group.addoption(
        "--ideogram-config",
        default=None,
        metavar="FILE",
        help="JSON or TOML file of mock settings, as for ideogram-kit serve (ini: ideogram_config)",
    )
    parser.addini("ideogram_seed", "seed of the ideogram mock's images and faults (default 0)", default="")
    parser.addini("ideogram_base_url", "API base URLs ideogram_mock intercepts besides Runware's", type="linelist")
    parser.addini("ideogram_allow_invalid", "do not fail tests that send invalid payloads", type="bool", default=False)
    parser.addini("ideogram_config", "JSON or TOML file of mock settings (relative to the ini file)", default="")
    parser.addini(
        "ideogram_fidelity",
        "a recording of `ideogram-kit contract --record` (relative to the ini file): the mocks answer as it says",
        default="",
    )
    parser.addini(
        "ideogram_network_guard",
        "fail a test at once when it reaches for Runware's API host (api.runware.ai) and no fixture answers it "
        "(default true; false lets tests call the real API)",
        type="bool",
        default=True,
    )
    parser.addini(
        "ideogram_strict", "fail tests whose payloads get warnings (deprecated or ignored parameters)", type="bool",
        default=False,
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_HELP)
    # a session with the guard off still pushes an (empty) guard: it is the innermost session that decides
    guard = network_guard.activate(network_guard.GUARDED_HOSTS if config.getini("ideogram_network_guard") else ())
    config.stash[_GUARD] = guard
    config.add_cleanup(lambda: network_guard.deactivate(guard))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    guard = item.config.stash.get(_GUARD, None)
    if guard is not None:
        guard.take()  # what was stopped before this test (at collection, say) is not its doing


def _session_settings(config: pytest.Config) -> IdeogramSettings:
    """Defaults < ini keys < command-line options (computed once per session)."""
    if _SESSION_SETTINGS in config.stash:
        return config.stash[_SESSION_SETTINGS]
    from ideogram_mock.config import MockConfig

    from .pytest_support import DEFAULT_BASE_URL, IdeogramSettings

    mock = MockConfig(port=0)
    path = config.getoption("ideogram_config")
    if path:
        mock = MockConfig.from_file(Path(path), base=mock)
    elif config.getini("ideogram_config"):
        root = config.inipath.parent if config.inipath else config.rootpath
        mock = MockConfig.from_file(root / config.getini("ideogram_config"), base=mock)
    if config.getini("ideogram_fidelity"):
        root = config.inipath.parent if config.inipath else config.rootpath
        mock = mock.replace(fidelity_file=str(root / config.getini("ideogram_fidelity")))
    seed = config.getoption("ideogram_seed")
    if seed is None and config.getini("ideogram_seed"):
        seed = int(config.getini("ideogram_seed"))
    if seed is not None:
        mock = mock.replace(seed=seed)
    extra = config.getoption("ideogram_base_url") or config.getini("ideogram_base_url")
    allow = config.getoption("ideogram_allow_invalid")
    settings = IdeogramSettings(
        config=mock,
        base_urls=tuple(dict.fromkeys([DEFAULT_BASE_URL, *extra])),
        allow_invalid=bool(config.getini("ideogram_allow_invalid") if allow is None else allow),
        strict=bool(config.getini("ideogram_strict")),
    )
    config.stash[_SESSION_SETTINGS] = settings
    return settings


def _watch(node: pytest.Item, controls: Any) -> None:
    node.stash.setdefault(_ACTIVE, []).append([controls, 0])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    guard = item.config.stash.get(_GUARD, None)
    stopped = guard.take() if guard is not None else []
    if stopped and not report.skipped:
        _fail(report, "ideogram: network guard", "\n".join(stopped), call)
    active = item.stash.get(_ACTIVE, None)
    if not active or report.when not in ("call", "teardown") or report.skipped:
        return report
    texts = []
    for watched in active:
        controls, seen = watched
        text = controls._report(seen)
        watched[1] = len(controls.engine.invalid)
        if text:
            texts.append(text)
    if texts:
        _fail(report, "ideogram: invalid payloads", "\n".join(texts), call)
    return report


def _fail(report: pytest.TestReport, title: str, text: str, call: pytest.CallInfo[None]) -> None:
    """Fail a passed ``report`` with ``text``; add ``text`` as a section to a failed one (unless its
    exception already says it: the guard's own error propagated)."""
    if report.passed:
        report.outcome = "failed"
        report.longrepr = text
        return
    if call.excinfo is not None and isinstance(call.excinfo.value, network_guard.UnansweredRunwareRequest):
        return
    add_section = getattr(report.longrepr, "addsection", None)  # a failure's traceback repr
    if callable(add_section):
        add_section(title, text)
    else:  # pragma: no cover - pytest's failure reprs all have sections
        report.sections.append((title, text))


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def ideogram_settings(request: pytest.FixtureRequest) -> IdeogramSettings:
    """Settings of this test's mock: ini keys, ``--ideogram-*`` options, then the ``ideogram`` marker."""
    settings = _session_settings(request.config)
    for marker in reversed(list(request.node.iter_markers("ideogram"))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.ideogram takes keyword arguments only, got {marker.args!r}")
        settings = settings.with_marker(marker.kwargs)
    if "ideogram_webhook_body" in request.fixturenames:
        settings = settings.replace(webhook_body=request.getfixturevalue("ideogram_webhook_body"))
    return settings


@pytest.fixture(params=["flat", "data"])
def ideogram_webhook_body(request: pytest.FixtureRequest) -> str:
    """Run the test once per webhook body shape the evidence allows (``flat`` then ``data``).

    Runware's own skills repo says a webhook POST carries the flat result object; a third-party
    integration parses ``{"data": [...]}``. A webhook handler tested with this fixture survives both:
    ``def test_handler(ideogram_mock, ideogram_webhook_body): ...`` runs twice, the mock configured
    with ``webhook_body`` set to the parameter.
    """
    shape: str = request.param
    return shape


@pytest.fixture
def ideogram_mock(request: pytest.FixtureRequest, ideogram_settings: IdeogramSettings) -> Iterator[IdeogramMock]:
    """The Runware mock in process: httpx, requests and aiohttp calls to its base URLs are answered by the mock."""
    from .pytest_support import IdeogramMock

    mock = IdeogramMock(ideogram_settings).start()
    _watch(request.node, mock)
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture(scope="session")
def _ideogram_live_server(pytestconfig: pytest.Config) -> Iterator[IdeogramServer]:
    from .pytest_support import IdeogramServer

    server = IdeogramServer(_session_settings(pytestconfig).config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ideogram_server(
    request: pytest.FixtureRequest, _ideogram_live_server: IdeogramServer, ideogram_settings: IdeogramSettings
) -> Iterator[IdeogramServer]:
    """The mock on ``127.0.0.1:PORT`` (started once per session, reset for each test)."""
    server = _ideogram_live_server.prepare(ideogram_settings)
    _watch(request.node, server)
    yield server


@pytest.fixture
def ideogram_webhook_receiver(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver]:
    """A loopback HTTP server recording every webhook POST and upload PUT attempt, accepted or refused
    (``url``, ``attempts``, ``deliveries``, ``wait_for(n, count="accepted"|"attempts")``).

    In a test that also uses ``ideogram_server``, ``ideogram_server.deliveries`` shows every attempt
    the receiver has seen from the mock once ``wait_for`` returns (or when it is read).
    """
    from .pytest_support import WebhookReceiver

    receiver = WebhookReceiver().start()
    server: IdeogramServer | None = None
    if "ideogram_server" in request.fixturenames:
        server = request.getfixturevalue("ideogram_server")
        server.watch(receiver)
    try:
        yield receiver
    finally:
        if server is not None:
            server.unwatch(receiver)
        receiver.stop()


@pytest.fixture
def ideogram_validate() -> Any:
    """``ideogram_validate(payload)``: fail the test naming every mistake; returns the payload."""
    from .errors import PayloadAssertionError
    from .validation import validate

    def assert_valid_payload(payload: Any) -> Any:
        __tracebackhide__ = True
        errors = validate(payload)
        if errors:
            raise PayloadAssertionError(errors)
        return payload

    return assert_valid_payload


def __getattr__(name: str) -> Any:
    """The hypothesis strategies, imported on first use (``from ideogram_kit.plugin import valid_tasks``)."""
    if name in _STRATEGIES:
        return getattr(importlib.import_module("ideogram_kit.strategies"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
