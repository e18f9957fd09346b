"""The plugin as a user's test session sees it, run with pytester: reports, marker, options, isolation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = (ROOT / "examples" / "docs-example.json").read_text().strip()

APP = f'''
import copy, json, uuid

import httpx

DOCS_EXAMPLE = json.loads({DOCS_EXAMPLE!r})


def remix(strength=75, url="https://api.runware.ai/v1", **changes):
    """The application: posts one task, swallows any error (returns None)."""
    task = {{**copy.deepcopy(DOCS_EXAMPLE), **changes}}
    task["providerSettings"]["ideogram"]["remixStrength"] = strength
    answer = httpx.post(url, json=[task], headers={{"Authorization": "Bearer key"}})
    if answer.status_code != 200:
        return None
    return httpx.get(answer.json()["data"][0]["imageURL"]).content
'''

INVALID_LINES = [
    "ideogram_mock received 1 invalid request (1 validation error); the mock answered with Runware's errors:",
    "  request 1, task 0 (6ba7b824-9dad-41d1-80b4-00c04fd430c8):",
    "    providerSettings.ideogram.remixStrength: Invalid value for 'remixStrength' parameter. It must be an integer"
    " value between 1 and 100, got 500. [invalidRemixStrength]",
    "Fix the payload, or mark a test that sends invalid payloads on purpose: @pytest.mark.ideogram(allow_invalid=True)",
]


def literal(line: str) -> str:
    """``line`` as an fnmatch pattern matching exactly itself."""
    return re.sub(r"([\[\]*?])", r"[\1]", line)


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    return pytester


def test_a_users_test_file_passes_with_the_mock(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import httpx, pytest
        from app import remix

        def test_sync(ideogram_mock):
            assert remix()[:3] == b"\\xff\\xd8\\xff"
            assert ideogram_mock.image_tasks[0]["positivePrompt"].startswith("Transform")

        @pytest.mark.anyio
        async def test_async_client(ideogram_mock):
            async with httpx.AsyncClient() as client:
                answer = await client.post(ideogram_mock.base_url, json=[{"taskType": "ping", "ping": True}],
                                           headers={"Authorization": "Bearer key"})
            assert answer.json() == {"data": [{"taskType": "ping", "pong": True}]}
        """
    )
    app.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_an_invalid_payload_fails_the_test_naming_parameter_value_and_range(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        from app import remix

        def test_too_strong(ideogram_mock):
            assert remix(strength=500) is None  # the application swallows the 400
        """
    )
    result = app.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_too_strong _*", *map(literal, INVALID_LINES), "FAILED test_app.py::test_too_strong - ideogram_mock*"]
    )
    output = result.stdout.str()
    assert "respx/" not in output and "pytest_support.py" not in output  # no traceback from the interception


@pytest.mark.parametrize(
    ("marker", "args", "ini"),
    [
        ("@pytest.mark.ideogram(allow_invalid=True)", (), ""),
        ("", ("--ideogram-allow-invalid",), ""),
        ("", (), "ideogram_allow_invalid = true"),
    ],
    ids=["marker", "option", "ini"],
)
def test_invalid_payloads_can_be_allowed(app: pytest.Pytester, marker: str, args: tuple[str, ...], ini: str) -> None:
    app.makeini(f"[pytest]\n{ini}\n")
    app.makepyfile(
        test_app=f"""
        import pytest
        from app import remix

        {marker}
        def test_too_strong_on_purpose(ideogram_mock):
            assert remix(strength=500) is None
            assert [(e.code, e.kind) for e in ideogram_mock.invalid] == [("invalidRemixStrength", "outOfRange")]
        """
    )
    app.runpytest_inprocess("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)


def test_a_failing_test_keeps_its_traceback_and_gets_the_payload_section(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        from app import remix

        def test_fails_on_its_own(ideogram_mock):
            assert remix(strength=500) == b"an image"
        """
    )
    result = app.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert None == b'an image'",
            "*- ideogram: invalid payloads -*",
            *map(literal, INVALID_LINES),
        ]
    )


@pytest.mark.parametrize(
    ("call", "reported"),
    [
        pytest.param(
            'httpx.post(ideogram_mock.base_url, json={"taskType": "ping"}, headers={"Authorization": "Bearer k"})',
            "    The body must be a non-empty JSON array of task objects. [[]invalidRequestBody[]]"
            " (hint: wrap the task in a list: *)",
            id="not-a-request-array",
        ),
        pytest.param(
            'httpx.post(ideogram_mock.base_url, content=json.dumps([{"taskType": "ping"}]),'
            ' headers={"Authorization": "Bearer k", "Content-Type": "application/x-www-form-urlencoded"})',
            "    The body is declared as 'application/x-www-form-urlencoded'; POST /v1 takes application/json."
            " [[]unsupportedMediaType[]] (hint: send the header Content-Type: application/json*)",
            id="declared-as-a-form",
        ),
    ],
)
def test_a_request_that_is_wrong_as_a_whole_fails_the_test(pytester: pytest.Pytester, call: str, reported: str) -> None:
    pytester.makepyfile(test_app=f"import json\nimport httpx\n\n\ndef test_it(ideogram_mock):\n    {call}\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  request 1:", reported])


def test_the_live_server_is_reset_for_each_test_and_checks_payloads(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app="""
        import pytest
        from app import remix

        @pytest.mark.ideogram(fail_next=["providerError", "providerError"])
        def test_first(ideogram_server):
            assert remix(url=ideogram_server.base_url) is None

        def test_second_starts_clean(ideogram_server):
            assert ideogram_server.requests == []
            assert remix(url=ideogram_server.base_url)[:3] == b"\\xff\\xd8\\xff"

        def test_invalid(ideogram_server):
            remix(strength=500, url=ideogram_server.base_url)

        @pytest.mark.ideogram(allow_invalid=True)
        def test_invalid_allowed(ideogram_server):
            remix(strength=500, url=ideogram_server.base_url)
        """
    )
    result = app.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*_ test_invalid _*", "ideogram_server received 1 invalid request*"])


def test_ideogram_validate_names_every_mistake_at_the_users_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_payloads=f"""
        import json

        def test_payload(ideogram_validate):
            task = json.loads({DOCS_EXAMPLE!r})
            assert ideogram_validate(task) is task
            task["width"] = "1024"
            ideogram_validate(task)
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       ideogram_validate(task)",
            "E       ideogram_kit.errors.PayloadAssertionError: 1 validation error in payload",
            literal(
                "E         [task 0 6ba7b824-9dad-41d1-80b4-00c04fd430c8] width: Invalid value for 'width' parameter."
                ' It must be an integer value, got string "1024". [invalidWidth]'
            ),
        ]
    )
    assert "validation.py" not in result.stdout.str()


@pytest.mark.parametrize("where", ["ini", "option"])
def test_options_ini_and_config_file_set_the_defaults(pytester: pytest.Pytester, where: str) -> None:
    pytester.makefile(".json", mock_settings=json.dumps({"latencyMax": 0.25, "seed": 1}))
    if where == "ini":
        ini = "ideogram_config = mock_settings.json\nideogram_seed = 9\nideogram_base_url = http://cli.test/v1"
        args: tuple[str, ...] = ()
    else:
        ini = "ideogram_seed = 5\nideogram_base_url = http://ini.test/v1"
        args = ("--ideogram-config=mock_settings.json", "--ideogram-seed=9", "--ideogram-base-url=http://cli.test/v1")
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(
        test_settings="""
        import pytest

        def test_defaults(ideogram_settings):
            assert ideogram_settings.config.seed == 9  # over the file's seed (and the option over the ini's)
            assert ideogram_settings.config.latency_max == 0.25
            assert ideogram_settings.base_urls == ("https://api.runware.ai/v1", "http://cli.test/v1")

        @pytest.mark.ideogram(seed=11, base_url="http://marker.test/v1", allow_invalid=True)
        def test_marker_wins(ideogram_settings):
            assert ideogram_settings.config.seed == 11
            assert ideogram_settings.base_urls[-1] == "http://marker.test/v1"
            assert ideogram_settings.allow_invalid

        @pytest.mark.ideogram(nonsense=1)
        def test_unknown_marker_setting(ideogram_settings):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)

    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["E   *ConfigError: unknown setting 'nonsense'; known: host, port, *seed, *latency_min*"]
    )


def test_a_conftest_can_override_the_settings_fixture(app: pytest.Pytester) -> None:
    app.makeconftest(
        """
        import pytest

        @pytest.fixture
        def ideogram_settings(ideogram_settings):
            return ideogram_settings.replace(base_urls=("http://runware.internal/v1",), seed=42)
        """
    )
    app.makepyfile(
        test_app="""
        from app import remix

        def test_internal_gateway(ideogram_mock):
            assert remix(url="http://runware.internal/v1")[:3] == b"\\xff\\xd8\\xff"
            assert ideogram_mock.base_urls == ["http://runware.internal/v1"]
            assert ideogram_mock.configure().seed == 42
        """
    )
    app.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_help_lists_the_options_and_markers_list_the_marker(pytester: pytest.Pytester) -> None:
    pytester.runpytest_inprocess("--help").stdout.fnmatch_lines(
        [
            "ideogram-remix-kit (Runware ideogram:1@2 mock):",
            "  --ideogram-seed=N *",
            "  ideogram_allow_invalid (bool):*",
        ]
    )
    pytester.runpytest_inprocess("--markers").stdout.fnmatch_lines(
        ["@pytest.mark.ideogram(allow_invalid=False, strict=False, seed=None, latency=None, fail_next=None, base_url=*"]
    )


def test_a_session_without_the_fixtures_starts_and_imports_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import json, sys, threading

        SOCKET_EVENTS = []
        sys.addaudithook(lambda event, args: SOCKET_EVENTS.append(event) if event.startswith("socket.") else None)

        def pytest_sessionfinish(session):
            heavy = ("ideogram_mock", "uvicorn", "starlette", "PIL", "ideogram_kit.pytest_support")
            with open("report.json", "w") as out:
                json.dump({
                    "plugin": session.config.pluginmanager.has_plugin("ideogram"),
                    "sockets": SOCKET_EVENTS,
                    "threads": [t.name for t in threading.enumerate()],
                    "imported": [name for name in heavy if name in sys.modules],
                }, out)
        """
    )
    pytester.makepyfile(
        test_plain="""
        import json

        def test_plain():
            assert json.loads("[1]") == [1]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "report.json").read_text())
    assert report == {"plugin": True, "sockets": [], "threads": ["MainThread"], "imported": []}


def test_the_example_apps_test_suite_passes(pytester: pytest.Pytester) -> None:
    for name in ("remix_app.py", "test_remix_app.py"):
        (pytester.path / name).write_text((ROOT / "examples" / "app" / name).read_text())
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")

    result.assert_outcomes(passed=6)  # the webhook test runs once per body shape


def test_the_docs_show_the_real_failure_report(pytester: pytest.Pytester) -> None:
    example = ROOT / "examples" / "plugin_invalid_payload.py"
    (pytester.path / "test_example.py").write_text(example.read_text())
    pattern = re.compile(r"`examples/plugin_invalid_payload\.py`[^`]*?```python\n.*?```\n\n```text\n(.*?)```", re.S)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    shown = [match.group(1) for page in pages for match in pattern.finditer(page.read_text())]
    assert shown, "no page shows the report of examples/plugin_invalid_payload.py"

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    for report in shown:
        result.stdout.fnmatch_lines([literal(line) for line in report.splitlines()])


@pytest.mark.parametrize(
    ("marker", "ini", "outcome"),
    [
        ("", "", "passed"),
        ("@pytest.mark.ideogram(strict=True)", "", "failed"),
        ("", "ideogram_strict = true", "failed"),
    ],
    ids=["lenient", "marker", "ini"],
)
def test_warnings_are_recorded_and_strict_fails_on_them(
    app: pytest.Pytester, marker: str, ini: str, outcome: str
) -> None:
    app.makeini(f"[pytest]\n{ini}\n")
    app.makepyfile(
        test_app=f"""
        import pytest
        from app import remix

        {marker}
        def test_deprecated_parameter(ideogram_mock):
            assert remix(checkNSFW=False) is not None  # Runware still takes it
            assert [(w.code, w.parameter) for w in ideogram_mock.warnings] == [("deprecatedParameter", "checkNSFW")]
        """
    )
    result = app.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(**{outcome: 1})
    if outcome == "failed":
        result.stdout.fnmatch_lines(
            [
                "*checkNSFW: 'checkNSFW' is deprecated; use safety.checkContent instead. [[]deprecatedParameter[]]*",
                "Warnings fail this test because it runs strict*",
            ]
        )


def test_a_webhook_handler_runs_under_both_body_shapes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_hook=f"""
        import json, uuid, httpx

        TASK = json.loads({DOCS_EXAMPLE!r})

        def test_handler(ideogram_mock, ideogram_webhook_body):
            task = {{**TASK, "taskUUID": str(uuid.uuid4()), "webhookURL": "https://app.example/hook"}}
            httpx.post(ideogram_mock.base_url, json=[task], headers={{"Authorization": "Bearer k"}})
            ideogram_mock.drain()
            (body,) = ideogram_mock.webhooks
            item = body["data"][0] if ideogram_webhook_body == "data" else body
            assert item["taskUUID"] == task["taskUUID"]
            print("SHAPE", ideogram_webhook_body, sorted(body))
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-s", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_handler?flat?*", "*SHAPE data ?'data'?"])


def test_a_recording_teaches_the_plugins_mock_the_targets_dialect(app: pytest.Pytester) -> None:
    recording = {
        "format": "ideogram-kit-contract/1",
        "target": "https://api.runware.ai/v1",
        "cases": [
            {"name": "outOfRange providerSettings.ideogram.remixStrength", "kind": "outOfRange",
             "parameter": "providerSettings.ideogram.remixStrength", "status": 400,
             "response": {"data": [], "errors": [{"code": "invalidRemixStrength", "message": "Recorded wording.",
                                                  "parameter": "providerSettings.ideogram.remixStrength"}]}},
        ],
    }  # fmt: skip
    app.makefile(".json", learnt=json.dumps(recording))
    app.makeini("[pytest]\nideogram_fidelity = learnt.json\n")
    app.makepyfile(
        test_app="""
        import pytest
        from app import remix

        @pytest.mark.ideogram(allow_invalid=True)
        def test_wording(ideogram_mock):
            assert remix(strength=500) is None
            assert ideogram_mock.requests[-1]["response"]["errors"][0]["message"] == "Recorded wording."
        """
    )
    app.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
