"""End to end on real sockets: ``ideogram-kit serve``, the README's examples, config files, shutdown."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from PIL import Image

from ideogram_mock import ConfigError, MockConfig
from ideogram_mock.config import describe_fields
from ideogram_mock.server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "ideogram-kit"
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())


@pytest.fixture(scope="module")
def live() -> Iterator[BackgroundServer]:
    with BackgroundServer(MockConfig(port=0, latency_min=0.05, latency_max=0.1)) as server:
        yield server


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("mock_sync.py", "200 2 results\nimage/jpeg (1024, 1024)\nimage/jpeg (1024, 1024)\n"),
        ("mock_async.py", "True\n[('success', '/9j/')]\n"),
        (
            "mock_webhook.py",
            "200 True\nupload /bucket/remix.jpg image/jpeg True\nwebhook /hooks/runware?token=secret <uuid> <uuid>\n",
        ),
    ],
)
def test_examples_run_against_a_live_server(live: BackgroundServer, example: str, expected: str) -> None:
    env = {**os.environ, "IDEOGRAM_MOCK_URL": live.url}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example)], capture_output=True, text=True, timeout=60, env=env
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == expected


class _Hooks(http.server.BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((self.path, dict(self.headers), body))
        self.send_response(500 if len(self.calls) == 1 else 200)  # the first attempt fails
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_to_a_loopback_receiver(live: BackgroundServer) -> None:
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        live.engine.configure({"deliveryBaseDelay": 0.01})
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook?token=t"
        task = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "webhookURL": hook}
        response = httpx.post(f"{live.url}/v1", json=[task], headers={"Authorization": "Bearer k"})
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while not [d for d in live.engine.deliveries() if d["taskUUID"] == task["taskUUID"] and d["final"]]:
            assert time.monotonic() < deadline, live.engine.deliveries()
            time.sleep(0.01)
    finally:
        receiver.shutdown()
        receiver.server_close()
    first, second = _Hooks.calls
    assert first[0] == second[0] == "/hook?token=t"
    assert first[1]["X-Delivery-ID"] == second[1]["X-Delivery-ID"]
    assert json.loads(second[2])["taskUUID"] == task["taskUUID"]


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [str(CLI), "serve", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert " at http://127.0.0.1:" in first, first + (process.stderr.read() if process.stderr else "")
    return process, first.split(" at ", 1)[1].split()[0].removesuffix("/v1")


def finish(process: subprocess.Popen[str], sig: int) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_serves_the_docs_example_and_stops_gracefully(sig: int) -> None:
    process, url = start_cli("--seed", "3", "--latency", "0:0.01")
    try:
        png = io.BytesIO()
        Image.new("RGB", (32, 32), "teal").save(png, "PNG")
        inline = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
        task = {**DOCS_EXAMPLE, "inputs": {"referenceImages": [inline]}}
        response = httpx.post(f"{url}/v1", json=[task], headers={"Authorization": "Bearer k"}, timeout=10)
        assert response.status_code == 200, response.text
        image = httpx.get(response.json()["data"][0]["imageURL"])
        assert Image.open(io.BytesIO(image.content)).format == "JPEG"
        # a webhook that can never be delivered is pending at shutdown
        hook = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "webhookURL": "http://127.0.0.1:9/never"}
        changed = httpx.patch(f"{url}/_mock/config", json={"deliveryBaseDelay": 30, "shutdownGrace": 0.2})
        assert changed.json()["port"] == int(url.rsplit(":", 1)[1]), "--port 0: the config shows the port bound"
        assert httpx.post(f"{url}/v1", json=[hook], headers={"Authorization": "Bearer k"}).status_code == 200
    finally:
        code, out, err = finish(process, sig)
    assert code == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    assert "cancelled" in out and out.rstrip().endswith("ideogram mock: stopped")


def test_cli_rejects_bad_flags() -> None:
    def serve(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(CLI), "serve", *argv], capture_output=True, text=True, timeout=20)
        assert done.stdout == "" and "Traceback" not in done.stderr, done
        return done

    done = serve("--latency", "soon")
    assert done.returncode == 2 and "--latency takes SECONDS or MIN:MAX seconds, got 'soon'" in done.stderr
    done = serve("--rate-limit", "a/b")
    assert done.returncode == 2 and "--rate-limit takes N or N/SECONDS, got 'a/b'" in done.stderr
    done = serve("--failure-rate", "2")
    assert done.returncode == 2 and "failure_rate" in done.stderr
    done = serve("--config", str(ROOT / "examples" / "docs-example.json"))
    assert done.returncode == 2 and "unknown setting 'taskType'" in done.stderr


def test_cli_port_in_use_is_a_message_not_a_traceback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(CLI), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 2, done
    assert done.stderr == (
        f"ideogram-kit serve: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(pass --port N, or --port 0 for a free one)\n"
    )


def test_config_files(tmp_path: Path) -> None:
    toml = tmp_path / "mock.toml"
    toml.write_text('[mock]\nseed = 4\nfailureRate = 0.25\noutbound_allow = ["hooks.test"]\n')
    assert MockConfig.from_file(toml) == MockConfig(seed=4, failure_rate=0.25, outbound_allow=("hooks.test",))
    js = tmp_path / "mock.json"
    js.write_text('{"latencyMin": 0.1, "latencyMax": 0.2, "apiKeys": "only"}')
    assert MockConfig.from_file(js).api_keys == ("only",)
    js.write_text('{"requireJsonContentType": false}')
    assert MockConfig.from_file(js).require_json_content_type is False
    for text, message in [("{", "invalid JSON"), ('{"seed": "x"}', "number"),
                          ('{"latencyMin": 2, "latencyMax": 1}', "latency_max"),
                          ('{"http": "spdy"}', "http must be one of auto, httptools, h11"),
                          ("[1]", "object"), ('{"port": 1.5}', "integer"), ('{"host": 1}', "string"),
                          ('{"publicBaseUrl": "ftp://x"}', "http"), ('{"apiKeys": [1]}', "list"),
                          ('{"publicBaseUrl": 3}', "string or null"), ('{"retention": -1}', ">= 0"),
                          ('{"requireJsonContentType": "no"}', "true or false"),
                          ('{"requireJsonContentType": 0}', "true or false")]:  # fmt: skip
        js.write_text(text)
        with pytest.raises(ConfigError, match=message):
            MockConfig.from_file(js)
    toml.write_text("seed = ")
    with pytest.raises(ConfigError, match="invalid TOML"):
        MockConfig.from_file(toml)
    with pytest.raises(ConfigError, match="exceed"):
        MockConfig(failure_rate=0.6, timeout_rate=0.6)
    with pytest.raises(ConfigError, match="port"):
        MockConfig(port=70000)
    with pytest.raises(ConfigError, match="> 0"):
        MockConfig(max_tasks=0)


def test_the_docs_list_every_setting() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    missing = [f["name"] for f in describe_fields() if f"| `{f['name']}` |" not in text]
    assert not missing
