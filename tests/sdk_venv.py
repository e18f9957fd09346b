"""Throw-away venvs for the official Runware SDKs, shared by the SDK tests of one pytest run.

``runware`` (0.5.x, WebSocket) and ``runware-sdk`` (REST or WebSocket) both install the import
name ``runware``, so each gets its own venv, never the kit's. :func:`start` begins the pip
installs in the background (so two SDKs install at once); :func:`sdk_python` waits for one and
returns its interpreter. Each requirement is installed once per pytest run. Needs PyPI.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path

import pytest

RUNWARE = "runware==0.5.24"
RUNWARE_SDK = "runware-sdk==1.8.0"
INSTALL_TIMEOUT = 240

_installs: dict[str, tuple[Path, subprocess.Popen[str]]] = {}
_ready: dict[str, Path] = {}


def _pip_can_target() -> bool:
    """pip 22.3+ installs into another interpreter (``pip --python``): no pip inside each venv."""
    major, minor = (int(part) for part in version("pip").split(".")[:2])
    return (major, minor) >= (22, 3)


def start(tmp_path_factory: pytest.TempPathFactory, *requirements: str) -> None:
    """Begin installing each requirement into its own venv, in the background (once per run)."""
    for requirement in requirements:
        if requirement in _installs:
            continue
        env_dir = tmp_path_factory.mktemp(requirement.split("==")[0] + "-venv")
        targeted = _pip_can_target()
        venv.EnvBuilder(with_pip=not targeted).create(env_dir)
        python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        pip = [sys.executable, "-m", "pip", "--python", str(python)] if targeted else [str(python), "-m", "pip"]
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        process = subprocess.Popen(
            [*pip, "install", "--quiet", requirement],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        _installs[requirement] = (python, process)


def sdk_python(tmp_path_factory: pytest.TempPathFactory, requirement: str) -> Path:
    """The interpreter of a venv with ``requirement`` installed (started here if not yet)."""
    if requirement in _ready:
        return _ready[requirement]
    start(tmp_path_factory, requirement)
    python, process = _installs[requirement]
    try:
        out, err = process.communicate(timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"pip install {requirement} took more than {INSTALL_TIMEOUT} s")
    assert process.returncode == 0, f"pip install {requirement} failed:\n{out}\n{err}"
    _ready[requirement] = python
    return python


def sdk_env() -> dict[str, str]:
    """The environment for an SDK script: ours, minus any RUNWARE_* settings of the developer's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RUNWARE_")}


@atexit.register
def _stop_unused_installs() -> None:
    for _, process in _installs.values():
        if process.poll() is None:
            process.kill()
            process.communicate()
