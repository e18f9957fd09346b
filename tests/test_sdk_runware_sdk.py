"""The official ``runware-sdk`` (REST transport) runs unmodified against the mock.

It is installed into a throw-away venv (:mod:`tests.sdk_venv`; it and the ``runware`` SDK both
install the import name ``runware``, so neither can live in the kit's venv). Needs PyPI:
deselect offline with ``-m 'not sdk'``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

from . import sdk_venv

SCRIPT = Path(__file__).resolve().parent / "sdk_scripts" / "runware_sdk_rest.py"


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdk_venv.sdk_python(tmp_path_factory, sdk_venv.RUNWARE_SDK)


@pytest.mark.sdk
def test_runware_sdk_rest_sync_async_and_errors(sdk_python: Path) -> None:
    with BackgroundServer(MockConfig(port=0, latency_min=0.05, latency_max=0.1)) as server:
        command = [str(sdk_python), str(SCRIPT), server.url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=sdk_venv.sdk_env())
        requests = server.engine.requests()
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "OK"
    assert "parameter=providerSettings.ideogram.remixStrength" in done.stdout
    polls = [r for r in requests if r.get("body") and r["body"][0].get("taskType") == "getResponse"]
    assert polls, "the SDK's default async delivery never polled getResponse"
    assert all(r["status"] in (200, 400) for r in requests)
