"""The text that fails a test whose application sent invalid payloads (``invalid_payload_report``), line by line.

tests/test_plugin_pytester.py checks it end to end through pytest's output; here each wording rule is pinned:
counts and plurals, the strict variant, one heading per task of each request, hints, and the opt-out line.
"""

from __future__ import annotations

from ideogram_kit.errors import TaskError
from ideogram_kit.plugin_engine import OPT_OUT, InvalidRequest, invalid_payload_report


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
