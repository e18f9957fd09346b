"""The official SDKs' WebSocket transports run unmodified against the mock's ``ws://HOST:PORT/v1``.

``runware`` 0.5.24 (WebSocket only) and ``runware-sdk`` 1.8.0 with ``transport="websocket"``,
each in its own throw-away venv (see :mod:`tests.sdk_venv`), each running a script of
``tests/sdk_scripts`` that does a sync task with two results, an async task fetched with
getResponse, and an invalid parameter that must surface as the SDK's exception naming it.
Needs PyPI: deselect offline with ``-m 'not sdk'``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

from . import sdk_venv

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "sdk_scripts"


@pytest.fixture(scope="module", autouse=True)
def _install_both_at_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    sdk_venv.start(tmp_path_factory, sdk_venv.RUNWARE, sdk_venv.RUNWARE_SDK)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, latency_min=0.05, latency_max=0.1)) as live:
        yield live


def run_script(python: Path, script: str, server: BackgroundServer) -> list[dict[str, Any]]:
    """Run an SDK script against ``server``; the tasks of the WebSocket frames the mock received."""
    server.engine.reset()
    command = [str(python), str(SCRIPTS / script), server.url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, env=sdk_venv.sdk_env())
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "OK"
    assert "providerSettings.ideogram.remixStrength" in done.stdout
    frames = server.engine.requests()
    assert frames and all(entry["transport"] == "ws" for entry in frames)
    return [task for entry in frames for task in entry["body"]]


@pytest.mark.sdk
def test_runware_0_5_over_websocket(tmp_path_factory: pytest.TempPathFactory, server: BackgroundServer) -> None:
    python = sdk_venv.sdk_python(tmp_path_factory, sdk_venv.RUNWARE)
    tasks = run_script(python, "runware_ws.py", server)
    kinds = [t["taskType"] for t in tasks]
    assert kinds[:2] == ["authentication", "ping"]  # it pings right after authenticating
    assert kinds.count("imageInference") == 3 and "getResponse" in kinds
    inference = [t for t in tasks if t["taskType"] == "imageInference"]
    assert [list(t["inputs"]) for t in inference] == [["referenceImages"]] * 3  # IInputs -> inputs.referenceImages
    assert inference[0]["providerSettings"] == {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D",
                                                             "magicPrompt": "ON"}}  # extraArgs, as given  # fmt: skip


@pytest.mark.sdk
def test_runware_sdk_1_8_websocket(tmp_path_factory: pytest.TempPathFactory, server: BackgroundServer) -> None:
    python = sdk_venv.sdk_python(tmp_path_factory, sdk_venv.RUNWARE_SDK)
    kinds = [t["taskType"] for t in run_script(python, "runware_sdk_ws.py", server)]
    assert kinds[0] == "authentication"
    assert kinds.count("imageInference") == 3 and "getResponse" in kinds  # async polls over the socket


@pytest.mark.sdk
@pytest.mark.parametrize(("example", "requirement"), [("ws_runware.py", sdk_venv.RUNWARE),
                                                      ("ws_runware_sdk.py", sdk_venv.RUNWARE_SDK)])  # fmt: skip
def test_readme_sdk_examples(
    tmp_path_factory: pytest.TempPathFactory, server: BackgroundServer, example: str, requirement: str
) -> None:
    python = sdk_venv.sdk_python(tmp_path_factory, requirement)
    env = {**sdk_venv.sdk_env(), "IDEOGRAM_MOCK_URL": server.url}
    command = [str(python), str(ROOT / "examples" / example)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert done.stdout == "2 images [True, True]\n2 images after getResponse\n"
