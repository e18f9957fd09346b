"""The live dashboard (``GET /``): headers and conditional polling over HTTP, then a real browser.

The browser tests drive Debian's ``chromium`` headless through Playwright's Python API (its
own browser download is not needed). They skip only when no chromium binary is found; under
``CI=...`` a missing browser is a failure, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from ideogram_mock import MockConfig, create_app
from ideogram_mock.dashboard import CSP
from ideogram_mock.server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": "Bearer any-key"}
#: What an attacker puts in a prompt; if it ever became HTML, onerror would run.
PAYLOAD = "<img src=x onerror=\"window.__pwned=1;document.title='pwned'\"><script>window.__pwned=2</script>"
#: Chromium flags: headless, and no calls home (the only network here is loopback).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    """The system Chromium: ``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return None


def wait_until(page: Any, script: str, arg: Any = None, timeout: float = 10.0) -> None:
    """Poll ``script`` (a JS function of ``arg``) until it returns true.

    Playwright's own ``wait_for_function`` evaluates a string inside the page, which the
    page's CSP refuses ('unsafe-eval' is not allowed); ``evaluate`` goes through DevTools.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {script}"
        page.wait_for_timeout(25)


def task(prompt: str = "a neon city at night", **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "ideogram:1@2",
        "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
        "positivePrompt": prompt,
        "width": 1024,
        "height": 1024,
        **extra,
    }


# -- over HTTP, no browser ------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_page_is_served_with_a_strict_content_security_policy() -> None:
    app = create_app(MockConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock.localhost") as c:
        page = await c.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-security-policy"] == CSP
        assert page.headers["x-content-type-options"] == "nosniff"
        directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == directives["style-src"] == "'self'"
        assert "unsafe" not in CSP
        assert '<script src="/_mock/static/dashboard.js" defer></script>' in page.text
        assert "<script>" not in page.text and " style=" not in page.text  # nothing inline for the CSP to block
        for name, kind in [("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")]:
            asset = await c.get(f"/_mock/static/{name}")
            assert (asset.status_code, asset.headers["content-type"].split(";")[0]) == (200, kind)
            again = await c.get(f"/_mock/static/{name}", headers={"If-None-Match": asset.headers["etag"]})
            assert (again.status_code, again.content) == (304, b"")
        assert (await c.get("/_mock/static/dashboard.html")).status_code == 404
        assert (await c.get("/_mock/static/..%2fapp.py")).status_code == 404


@pytest.mark.anyio
async def test_page_shell_escapes_what_it_renders() -> None:
    """The shell's dynamic values (endpoint from Host, root path) are HTML-escaped; the rest is text via JS."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    root = '/m"><script>alert(1)</script>'
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": root + "/",
        "raw_path": b"/",
        "root_path": root,
        "query_string": b"",
        "headers": [(b"host", b"mock.localhost")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
    }
    await create_app(MockConfig())(scope, receive, send)
    page = b"".join(m.get("body", b"") for m in sent).decode()
    assert "<script>alert(1)" not in page
    assert '<body data-root="/m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">' in page
    assert "<code>POST http://mock.localhost/m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/v1</code>" in page


@pytest.mark.anyio
async def test_inspection_polls_are_conditional_on_the_change_counter() -> None:
    app = create_app(MockConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock.localhost") as c:
        paths = ["/_mock/requests", "/_mock/tasks", "/_mock/deliveries", "/_mock/config"]
        tags = {p: (await c.get(p)).headers["etag"] for p in paths}
        for path, tag in tags.items():
            unchanged = await c.get(path, headers={"If-None-Match": tag})
            assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", tag)

        async def changed_by(action: Awaitable[httpx.Response]) -> None:
            before = (await c.get("/_mock/requests")).headers["etag"]
            assert (await action).status_code == 200
            after = await c.get("/_mock/requests", headers={"If-None-Match": before})
            assert after.status_code == 200 and after.headers["etag"] != before

        sent = task()
        await changed_by(c.post("/v1", json=[sent], headers=AUTH))
        assert (await c.get("/_mock/tasks")).json()[0]["taskUUID"] == sent["taskUUID"]
        await changed_by(c.patch("/_mock/config", json={"failureRate": 0.5}))
        assert (await c.get("/_mock/config")).json()["failure_rate"] == 0.5
        await changed_by(c.post("/_mock/reset", json={}))
        assert (await c.get("/_mock/requests")).json() == []


def test_wheel_ships_the_dashboard_files(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("dashboard.html", "dashboard.js", "dashboard.css"):
        assert f"ideogram_mock/static/{name}" in names


# -- in a real browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium binary on PATH, but CI is set: .ci/run installs Debian's chromium")
        pytest.skip("no chromium binary on PATH (install Debian's chromium, or set CHROMIUM=/path/to/chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, delivery_base_delay=0.05)) as server:
        yield server


@pytest.fixture
def page(browser: Any, live: BackgroundServer) -> Iterator[Any]:
    """The dashboard, freshly loaded on a reset mock; records CSP violations and console errors."""
    httpx.post(f"{live.url}/_mock/reset", json={})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    tab.console_errors = []
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    tab.goto(live.url + "/")
    tab.wait_for_selector("#live.on")
    tab.evaluate("window.__sameDocument = true")  # survives only if the page never reloads
    try:
        yield tab
    finally:
        context.close()


def test_browser_shows_requests_live_and_never_runs_a_payload(page: Any, live: BackgroundServer) -> None:
    assert page.locator("#journal .empty").inner_text().startswith("No requests yet")
    title = page.title()

    hostile = task(PAYLOAD, numberResults=2, checkNSFW=False)  # accepted by Runware, with a warning
    invalid = task(providerSettings={"ideogram": {"remixStrength": 150}})
    assert httpx.post(f"{live.url}/v1", json=[hostile], headers=AUTH).status_code == 200
    assert httpx.post(f"{live.url}/v1", json=[invalid], headers=AUTH).status_code == 400

    # both appear without a reload, newest first
    wait_until(page, "document.querySelectorAll('#journal .request').length === 2")
    uuids = page.locator(".task").evaluate_all("nodes => nodes.map(n => n.dataset.taskUuid)")
    assert uuids == [invalid["taskUUID"], hostile["taskUUID"]]
    assert page.evaluate("window.__sameDocument") is True

    # the payload is shown as the literal text the client sent, and did nothing
    ran = page.locator(f'.task[data-task-uuid="{hostile["taskUUID"]}"]')
    assert ran.locator(".prompt q").inner_text() == PAYLOAD
    assert ran.locator(".state").inner_text() == "success"
    assert ran.locator(".warnings .badge").inner_text() == "deprecatedParameter"
    assert ran.locator(".warnings mark.param").inner_text() == "checkNSFW"
    wait_until(
        page,
        "uuid => { const imgs = [...document.querySelectorAll(`.task[data-task-uuid='${uuid}'] .thumbs img`)];"
        " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        hostile["taskUUID"],
    )
    assert page.evaluate("window.__pwned") is None
    assert page.title() == title
    assert page.locator("img[src='x'], script:not([src]), [onerror]").count() == 0

    # the invalid task: its error, the parameter named and highlighted in the payload it sent
    bad = page.locator(f'.task[data-task-uuid="{invalid["taskUUID"]}"]')
    assert bad.locator(".badge.state").inner_text() == "invalid"
    assert bad.locator(".errors .badge").inner_text() == "invalidRemixStrength"
    assert bad.locator("mark.param").inner_text() == "providerSettings.ideogram.remixStrength"
    assert bad.locator(".json .line.bad").inner_text().strip() == '"remixStrength": 150'

    # the CSP is in force (an injected inline script is refused) and the page itself never trips it
    assert (
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
            " document.body.append(s); return window.__inline; }"
        )
        is None
    )
    violations = page.evaluate("window.__violations")
    assert [v for v in violations if not v.startswith("script-src-elem inline")] == []
    assert len(violations) == 1  # only the inline script above
    assert [e for e in page.console_errors if "Content Security Policy" not in e] == []


class _FlakyHook(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.answers.pop(0) if self.answers else 200)
        self.end_headers()

    def do_PUT(self) -> None:  # uploads always succeed
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def flaky_receiver(*answers: int) -> Iterator[str]:
    """A loopback webhook receiver answering ``answers`` in turn, then 200."""
    _FlakyHook.answers = list(answers)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_browser_shows_deliveries_faults_filters_and_resets(page: Any, live: BackgroundServer) -> None:
    with flaky_receiver(500) as hook:
        hooked = task(webhookURL=hook)
        ok = task("a quiet harbour", outputType="base64Data", outputFormat="PNG")
        bad = task(width=1000)
        httpx.post(f"{live.url}/v1", json=[hooked, ok, bad], headers=AUTH)
        attempts = page.locator(f'.task[data-task-uuid="{hooked["taskUUID"]}"] .delivery .attempt')
        wait_until(
            page,
            "uuid => document.querySelectorAll(`.task[data-task-uuid='${uuid}'] .delivery .attempt`).length === 2",
            hooked["taskUUID"],
        )
    assert attempts.all_inner_texts() == ["#1 500 failed", "#2 200 delivered"]
    row = page.locator(f'.task[data-task-uuid="{hooked["taskUUID"]}"]')
    assert "1 retry" in row.locator(".delivery").inner_text()
    assert row.locator(".badge.mode").all_inner_texts() == ["async", "webhook"]
    wait_until(  # a base64 PNG result (never inlined by the inspection API) is shown from the mock's /images/
        page,
        "uuid => { const i = document.querySelector(`.task[data-task-uuid='${uuid}'] .thumbs img`);"
        " return i && /\\/images\\/[0-9a-f-]+\\.png$/.test(i.src) && i.complete && i.naturalWidth > 0; }",
        ok["taskUUID"],
    )

    # fault settings changed at run time show up, marked as in force
    httpx.patch(f"{live.url}/_mock/config", json={"failureRate": 0.25})
    page.wait_for_selector(".fault.active:has-text('failure rate')")
    assert page.locator(".fault.active:has-text('failure rate') dd").inner_text() == "25 %"
    httpx.patch(f"{live.url}/_mock/config", json={"failureRate": 0})

    # filters
    visible = "() => [...document.querySelectorAll('#journal .task')].map(n => n.dataset.taskUuid)"
    page.fill("#filter-uuid", bad["taskUUID"][:13].upper())
    assert page.evaluate(visible) == [hooked["taskUUID"], ok["taskUUID"], bad["taskUUID"]]  # the whole request
    httpx.post(f"{live.url}/v1", json=[task()], headers=AUTH)
    wait_until(page, "document.getElementById('summary').textContent.startsWith('2 requests')")
    assert page.locator("#journal .request").count() == 1  # the new one is filtered out
    page.fill("#filter-uuid", "")
    page.check("#filter-errors")
    assert page.locator("#journal .request").count() == 1
    page.uncheck("#filter-errors")
    page.select_option("#filter-status", "processing")
    assert page.locator("#journal .empty").inner_text() == "No request matches the filters."
    page.select_option("#filter-status", "")
    assert page.locator("#journal .request").count() == 2

    # the reset button empties the mock and the page
    page.click("#reset")
    page.wait_for_selector("#journal .empty")
    assert live.engine.requests() == [] and live.engine.tasks() == []
    assert page.evaluate("window.__sameDocument") is True
