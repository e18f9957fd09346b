"""The official ``runware-sdk`` (REST transport) runs unmodified against the mock.

It is installed into a throw-away venv (it and the ``runware`` SDK both install the import
name ``runware``, so neither can live in the kit's venv). Needs PyPI: deselect offline with
``-m 'not sdk'``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

SCRIPT = Path(__file__).resolve().parent / "sdk_scripts" / "runware_sdk_rest.py"
VERSION = "1.8.0"


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("runware-sdk-venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"runware-sdk=={VERSION}"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"pip install runware-sdk=={VERSION} failed:\n{done.stdout}\n{done.stderr}"
    return python


@pytest.mark.sdk
def test_runware_sdk_rest_sync_async_and_errors(sdk_python: Path) -> None:
    with BackgroundServer(MockConfig(port=0, latency_min=0.05, latency_max=0.1)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWARE_")}
        done = subprocess.run(
            [str(sdk_python), str(SCRIPT), server.url], capture_output=True, text=True, timeout=60, env=env
        )
        requests = server.engine.requests()
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "OK"
    assert "parameter=providerSettings.ideogram.remixStrength" in done.stdout
    polls = [r for r in requests if r.get("body") and r["body"][0].get("taskType") == "getResponse"]
    assert polls, "the SDK's default async delivery never polled getResponse"
    assert all(r["status"] in (200, 400) for r in requests)
