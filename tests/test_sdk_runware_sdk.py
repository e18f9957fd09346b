"""The official ``runware-sdk`` (REST transport) runs unmodified against the mock: the live one,
and ``ideogram_mock`` alone, in process (the SDK posts through aiohttp, which the mock answers
through aioresponses), with no socket.

It is installed into a throw-away venv (:mod:`tests.sdk_venv`; it and the ``runware`` SDK both
install the import name ``runware``, so neither can live in the kit's venv). Needs PyPI:
deselect offline with ``-m 'not sdk'``.
"""

from __future__ import annotations

import subprocess
import sysconfig
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


#: A user's test of the SDK with ``ideogram_mock`` alone; it records every socket lookup and connection.
IN_PROCESS = """
import asyncio, sys, uuid

import aiohttp
import pytest
from runware import Runware, RunwareError

NETWORK = []  # lookups and connections: the test makes none
EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.connect", "socket.bind"}
sys.addaudithook(lambda event, args: NETWORK.append((event, args[:2])) if event in EVENTS else None)

TASK = {
    "taskType": "imageInference",  # passing it keeps the SDK from fetching its model registry
    "model": "ideogram:1@2",
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D"}},
}


@pytest.mark.ideogram(allow_invalid=True)  # the last task is refused on purpose
def test_the_sdk_over_rest_with_ideogram_mock_alone(ideogram_mock):
    async def main():
        async with Runware(api_key="test-key", transport="rest", max_retries=0) as client:  # Runware's own URL
            synced = await client.run({**TASK, "taskUUID": str(uuid.uuid4()), "deliveryMethod": "sync",
                                       "numberResults": 2})
            async with aiohttp.ClientSession() as session, session.get(synced[0]["imageURL"]) as image:
                jpeg = await image.read()
            polled = await client.run({**TASK, "outputType": "base64Data"})  # async by default: polls getResponse
            with pytest.raises(RunwareError) as refused:
                await client.run({**TASK, "providerSettings": {"ideogram": {"remixStrength": 150}}})
            return synced, jpeg, polled, refused.value

    synced, jpeg, polled, refused = asyncio.run(main())

    assert len({item["imageUUID"] for item in synced}) == 2
    assert jpeg[:3] == b"\\xff\\xd8\\xff"
    assert polled[0]["status"] == "success" and polled[0]["imageBase64Data"].startswith("/9j/")
    assert refused.parameter == "providerSettings.ideogram.remixStrength"
    kinds = [request["body"][0]["taskType"] for request in ideogram_mock.requests]
    assert kinds[:2] == ["imageInference", "imageInference"] and "getResponse" in kinds
    assert [e.code for e in ideogram_mock.invalid] == ["invalidRemixStrength"]
    assert NETWORK == []
"""
#: Runs pytest in the SDK's venv with the kit's venv on the path after it (``runware`` comes from the SDK's)
RUNNER = (
    "import site, sys; site.addsitedir(sys.argv.pop(1)); import pytest; raise SystemExit(pytest.main(sys.argv[1:]))"
)


@pytest.mark.sdk
def test_runware_sdk_rest_with_ideogram_mock_alone_no_socket(sdk_python: Path, tmp_path: Path) -> None:
    (tmp_path / "test_sdk_in_process.py").write_text(IN_PROCESS)
    kit_site = sysconfig.get_paths()["purelib"]
    command = [str(sdk_python), "-c", RUNNER, kit_site, "-p", "no:cacheprovider", "-q", "test_sdk_in_process.py"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=sdk_venv.sdk_env(), cwd=tmp_path)

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "1 passed" in done.stdout
