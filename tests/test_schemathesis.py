"""schemathesis against the mock's own /openapi.json: no server errors, and every response
conforms to the documented status codes, content types and schemas."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from ideogram_mock import MockConfig, create_app

APP = create_app(MockConfig(seed=5, allowed_hosts=("testserver",)))  # schemathesis's ASGI client's Host
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
#: positive_data_acceptance is left out on purpose: a valid task sent twice is a valid
#: conflictTaskUUID (400), as Runware answers, and schemathesis does repeat bodies.
WANTED = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
}
SELECTED = [check for check in CHECKS.get_all() if check.__name__ in WANTED]


def test_the_checks_we_rely_on_exist() -> None:
    assert {check.__name__ for check in SELECTED} == WANTED


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=SELECTED, headers={"Authorization": "Bearer schemathesis"})
