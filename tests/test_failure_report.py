"""The text that fails a test whose application sent invalid payloads (``invalid_payload_report``), line by line.

tests/test_plugin_pytester.py checks it end to end through pytest's output; here each wording rule is pinned:
counts and plurals, the strict variant, one heading per task of each request, hints, and the opt-out line.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ideogram_kit.errors import TaskError
from ideogram_kit.plugin_engine import OPT_OUT, InvalidRequest, PluginEngine, invalid_payload_report
from ideogram_mock import MockConfig, create_app


def error(parameter: str, index: int | None = 0, uuid: str | None = "u-1", **fields: object) -> TaskError:
    return TaskError(
        code="invalidWidth", message=f"{parameter} is wrong.", parameter=parameter, task_index=index, task_uuid=uuid,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def warning(parameter: str, index: int = 0, uuid: str = "u-1") -> TaskError:
    return TaskError(
        code="unsupportedParameter", message=f"{parameter} is ignored.", parameter=parameter, severity="warning",
        task_index=index, task_uuid=uuid,
    )  # fmt: skip


def test_one_request_one_error() -> None:
    report = invalid_payload_report([InvalidRequest(3, (error("width", hint="use 1024"),))])
    assert report.splitlines() == [
        "ideogram_mock received 1 invalid request (1 validation error); the mock answered with Runware's errors:",
        "  request 3, task 0 (u-1):",
        "    width: width is wrong. [invalidWidth] (hint: use 1024)",
        f"Fix the payload, or mark a test that sends invalid payloads on purpose: {OPT_OUT}",
    ]


def test_errors_are_grouped_by_task_and_counted_over_every_request() -> None:
    first = InvalidRequest(1, (error("width"), error("height"), error("seed", index=1, uuid="u-2")))
    second = InvalidRequest(None, (error("model", index=None, uuid=None),))
    report = invalid_payload_report([first, second], who="ideogram_live_server")
    assert report.splitlines() == [
        "ideogram_live_server received 2 invalid requests (4 validation errors); "
        "the mock answered with Runware's errors:",
        "  request 1, task 0 (u-1):",
        "    width: width is wrong. [invalidWidth]",
        "    height: height is wrong. [invalidWidth]",
        "  request 1, task 1 (u-2):",
        "    seed: seed is wrong. [invalidWidth]",
        "  a request:",
        "    model: model is wrong. [invalidWidth]",
        f"Fix the payload, or mark a test that sends invalid payloads on purpose: {OPT_OUT}",
    ]


def test_a_task_without_a_uuid_is_named_by_its_index_alone() -> None:
    report = invalid_payload_report([InvalidRequest(2, (error("width", index=4, uuid=None),))])
    assert "  request 2, task 4:" in report.splitlines()


def test_under_strict_warnings_count_and_the_report_says_why() -> None:
    only_warned = invalid_payload_report([InvalidRequest(5, (warning("foo"),))])
    assert only_warned.splitlines() == [
        "ideogram_mock received 1 request that fail this strict test (1 warning under strict); "
        "Runware accepts warned tasks, the mock answered them as it would:",
        "  request 5, task 0 (u-1):",
        "    foo: foo is ignored. [unsupportedParameter]",
        f"Fix the payload, or mark a test that sends invalid payloads on purpose: {OPT_OUT}",
        "Warnings fail this test because it runs strict (strict=True or the ini key ideogram_strict).",
    ]
    both = invalid_payload_report(
        [InvalidRequest(6, (error("width"), warning("foo"), warning("bar"))), InvalidRequest(7, (error("height"),))]
    )
    assert both.splitlines()[0] == (
        "ideogram_mock received 2 requests that fail this strict test (2 validation errors, 2 warnings under "
        "strict); Runware accepts warned tasks, the mock answered them as it would:"
    )


def test_under_strict_one_error_is_singular_beside_the_warnings() -> None:
    report = invalid_payload_report([InvalidRequest(8, (error("width"), warning("foo")))])
    assert report.splitlines()[0] == (
        "ideogram_mock received 1 request that fail this strict test (1 validation error, 1 warning under "
        "strict); Runware accepts warned tasks, the mock answered them as it would:"
    )


# -- what PluginEngine records for the report --------------------------------------------------------

TASK = json.loads((Path(__file__).resolve().parent.parent / "examples" / "docs-example.json").read_text())


def test_warnings_fail_a_test_only_under_strict() -> None:
    engine = PluginEngine()
    warned = {**TASK, "checkNSFW": True}  # deprecated: a warning, the task is accepted
    assert not engine.check([warned]) and engine.invalid == []  # not strict by default
    engine.strict = True
    engine.check([warned])
    [request] = engine.invalid
    assert [(e.code, e.is_warning) for e in request.errors] == [("deprecatedParameter", True)]
    engine.check(
        [{**TASK, "width": 3}, {**warned, "taskUUID": "7c9f2f4e-2b8a-4f6d-9a51-3e4b5c6d7e8f"}]
    )  # one error, one warned task: both fail
    assert sorted((e.is_warning, e.task_index, e.code) for e in engine.invalid[-1].errors) == [
        (False, 0, "unsupportedDimensions"), (True, 1, "deprecatedParameter")
    ]  # fmt: skip


def test_an_injected_invalid_api_key_is_a_whole_authentication_error() -> None:
    engine = PluginEngine()
    engine.fail_next("invalidApiKey")
    refused = engine.authenticate("some-key")
    assert refused is not None
    assert (refused["code"], refused["parameter"], refused["taskType"]) == ("invalidApiKey", "apiKey", "authentication")
    assert engine.authenticate("some-key") is None  # once


@pytest.mark.anyio
async def test_a_real_rate_limit_is_not_reported_as_injected() -> None:
    engine = PluginEngine(MockConfig(rate_limit=1, rate_window=60))
    transport = httpx.ASGITransport(app=create_app(engine=engine))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://m.localhost", headers={"Authorization": "Bearer k"}
    ) as c:
        await c.post("/v1", json=[{"taskType": "ping", "ping": True}])
        refused = await c.post("/v1", json=[{"taskType": "ping", "ping": True}])
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"] == "More than 1 requests in 60 s."
    await engine.aclose(0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
