"""Throw-away npm projects for the official Runware JavaScript clients, shared by one pytest run.

Each client gets its own project directory (``npm install`` of exact versions, no lockfile kept),
never anything global. :func:`start` begins the installs in the background (so they overlap each
other and the rest of the suite); :func:`project` waits for one and returns its directory.
:func:`node_or_skip` skips when ``node`` or ``npm`` is not on PATH; an install that fails is a
test failure carrying npm's output. Needs the npm registry.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: project name -> the exact packages it installs
SDK_JS = "runware-sdk-js"
AI_SDK_PROVIDER = "runware-ai-sdk-provider"
PACKAGES: dict[str, tuple[str, ...]] = {
    SDK_JS: ("@runware/sdk-js@1.3.2",),
    AI_SDK_PROVIDER: ("@runware/ai-sdk-provider@2.0.0", "ai@6.0.326"),
}
INSTALL_TIMEOUT = 240

_installs: dict[str, tuple[Path, subprocess.Popen[str]]] = {}
_ready: dict[str, Path] = {}


def tools() -> tuple[str, str] | None:
    """The paths of ``node`` and ``npm``, or None when either is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    return (node, npm) if node and npm else None


def node_or_skip() -> str:
    """The path of ``node``; skips the test when ``node`` or ``npm`` cannot be found."""
    found = tools()
    if found is None:
        pytest.skip("node and npm are needed for the npm clients' tests (apt-get install nodejs npm)")
    return found[0]


def npm_env() -> dict[str, str]:
    """The environment for npm and the client scripts: ours (npm's proxy and registry settings too), minus RUNWARE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWARE_")}
    return {**env, "NO_UPDATE_NOTIFIER": "1", "NODE_NO_WARNINGS": "1"}


def start(tmp_path_factory: pytest.TempPathFactory, *names: str) -> None:
    """Begin installing each named project in the background (once per run; nothing without node/npm)."""
    found = tools()
    if found is None:
        return
    for name in names:
        if name in _installs:
            continue
        directory = tmp_path_factory.mktemp(name)
        manifest = {"name": name, "version": "0.0.0", "private": True, "type": "module"}
        (directory / "package.json").write_text(json.dumps(manifest))
        command = [found[1], "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact",
                   "--no-package-lock", "--loglevel=error", *PACKAGES[name]]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=npm_env()
        )
        _installs[name] = (directory, process)


def project(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """The directory of the npm project ``name`` with its packages installed (started here if not yet)."""
    node_or_skip()
    if name in _ready:
        return _ready[name]
    start(tmp_path_factory, name)
    directory, process = _installs[name]
    try:
        out, err = process.communicate(timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"npm install {' '.join(PACKAGES[name])} took more than {INSTALL_TIMEOUT} s")
    assert process.returncode == 0, f"npm install {' '.join(PACKAGES[name])} failed:\n{out}\n{err}"
    _ready[name] = directory
    return directory


@atexit.register
def _stop_unused_installs() -> None:
    for _, process in _installs.values():
        if process.poll() is None:
            process.kill()
            process.communicate()
