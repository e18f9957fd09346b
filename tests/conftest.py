"""Suite-wide settings: hypothesis profiles.

``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci`` (derandomized, so a red build reproduces); without the
variable the profile is "ci" when ``CI`` is set (as CI services set it) and "dev" otherwise.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# ---------------------------------------------------------------------------------------------
# The mock server: every envelope it sends (/v1 answers, webhook bodies, /images errors) must
# validate against schema/response.schema.json, in every test of the suite.
# ---------------------------------------------------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _mock_envelopes_match_response_schema(monkeypatch: pytest.MonkeyPatch) -> object:
    from ideogram_kit import schemas
    from ideogram_mock import protocol

    checker = schemas.validator("response")
    original = protocol.encode
    problems: list[str] = []

    def checked(body: dict[str, object]) -> bytes:
        for error in checker.iter_errors(body):
            problems.append(f"{error.json_path}: {error.message}")
        return original(body)

    monkeypatch.setattr(protocol, "encode", checked)
    yield problems
    assert not problems, "the mock sent bodies the response schema rejects:\n" + "\n".join(problems)
