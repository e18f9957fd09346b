"""The official npm clients run unmodified against the mock.

``@runware/sdk-js`` 1.3.2 (WebSocket, ``ws://HOST:PORT/v1``) and ``@runware/ai-sdk-provider``
2.0.0 with the Vercel AI SDK ``ai`` 6 (REST, ``POST /v1``), each in its own throw-away npm
project (see :mod:`tests.npm_env`), each running a script of ``tests/sdk_scripts`` that remixes
with two results and sends an out-of-range remixStrength that must fail. Skips without node/npm;
needs the npm registry: deselect offline with ``-m 'not sdk'``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ideogram_mock import MockConfig
from ideogram_mock.server import BackgroundServer

from . import npm_env

SCRIPTS = Path(__file__).resolve().parent / "sdk_scripts"
REMIX = {"ideogram": {"remixStrength": 75}}


@pytest.fixture(scope="module", autouse=True)
def _install_both_at_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    npm_env.start(tmp_path_factory, npm_env.SDK_JS, npm_env.AI_SDK_PROVIDER)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, latency_min=0.05, latency_max=0.1)) as live:
        yield live


def run_script(project: Path, script: str, server: BackgroundServer) -> tuple[str, list[dict[str, Any]]]:
    """Run a client script from its npm project against ``server``: its output and the mock's request log."""
    server.engine.reset()
    shutil.copy(SCRIPTS / script, project / script)  # an ES module resolves its imports from its own directory
    command = [npm_env.node_or_skip(), script, server.url]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=90, env=npm_env.npm_env())
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == "OK"
    return done.stdout, server.engine.requests()


@pytest.mark.sdk
def test_runware_sdk_js_over_websocket(tmp_path_factory: pytest.TempPathFactory, server: BackgroundServer) -> None:
    project = npm_env.project(tmp_path_factory, npm_env.SDK_JS)
    out, frames = run_script(project, "sdk_js.mjs", server)
    assert "parameter=providerSettings.ideogram.remixStrength" in out
    assert frames and all(entry["transport"] == "ws" for entry in frames)
    tasks = [task for entry in frames for task in entry["body"]]
    assert tasks[0] == {"apiKey": "<redacted>", "taskType": "authentication"}  # no ping first; the log hides keys
    inference = [t for t in tasks if t["taskType"] == "imageInference"]
    assert len(inference) == 2
    assert set(inference[0]) == {"taskType", "taskUUID", "model", "positivePrompt", "width", "height",
                                 "numberResults", "deliveryMethod", "inputs", "providerSettings"}  # fmt: skip
    assert (inference[0]["numberResults"], inference[0]["providerSettings"]) == (2, REMIX)


@pytest.mark.sdk
def test_runware_ai_sdk_provider_over_rest(tmp_path_factory: pytest.TempPathFactory, server: BackgroundServer) -> None:
    project = npm_env.project(tmp_path_factory, npm_env.AI_SDK_PROVIDER)
    _, requests = run_script(project, "ai_sdk_provider.mjs", server)
    assert [(r["transport"], r["status"], len(r["body"])) for r in requests] == [("rest", 200, 1), ("rest", 400, 1)]
    task = requests[0]["body"][0]
    assert set(task) == {"taskType", "taskUUID", "model", "positivePrompt", "width", "height", "numberResults",
                         "outputType", "outputFormat", "outputQuality", "checkNSFW", "includeCost", "inputs",
                         "providerSettings"}  # fmt: skip
    assert (task["numberResults"], task["checkNSFW"], task["providerSettings"]) == (2, False, REMIX)
