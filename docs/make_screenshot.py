"""Make docs/dashboard.png: the dashboard after a few typical requests, in headless chromium.

Run from the repository root: ``.venv/bin/python docs/make_screenshot.py [OUT.png]``. It starts
the mock on a free loopback port, sends a sync remix, a webhook task whose receiver fails once,
an invalid task, a prompt holding HTML, and a slow async task, then screenshots the page.
"""

from __future__ import annotations

import base64
import io
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_dashboard import AUTH, CHROMIUM_ARGS, find_chromium, flaky_receiver, task  # noqa: E402

from ideogram_mock import MockConfig  # noqa: E402
from ideogram_mock.server import BackgroundServer  # noqa: E402


def reference() -> str:
    """A small colourful design as an inline PNG reference image."""
    image = Image.new("RGB", (256, 256), (24, 26, 60))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate([(255, 94, 91), (255, 196, 61), (62, 201, 167), (79, 124, 255)]):
        draw.ellipse((20 + 40 * i, 30 + 25 * i, 140 + 40 * i, 150 + 25 * i), fill=colour)
    draw.rectangle((30, 200, 226, 226), fill=(240, 240, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the mock")
        time.sleep(0.05)


def main(out: Path) -> None:
    executable = find_chromium()
    if executable is None:
        raise SystemExit("no chromium on PATH")
    from playwright.sync_api import sync_playwright

    config = MockConfig(port=0, seed=7, latency_min=0.1, latency_max=0.4, delivery_base_delay=0.2)
    with BackgroundServer(config) as server, flaky_receiver(500) as hook:
        v1 = f"{server.url}/v1"
        ref = {"inputs": {"referenceImages": [reference()]}}
        httpx.post(v1, json=[task("Transform this design into a futuristic cyberpunk aesthetic", numberResults=3,
                                  providerSettings={"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D"}},
                                  **ref)], headers=AUTH, timeout=30)  # fmt: skip
        hooked = task("The same poster as a watercolour", webhookURL=hook + "?token=secret",
                      uploadEndpoint=hook.replace("/hook", "/bucket/remix.jpg"), **ref)  # fmt: skip
        httpx.post(v1, json=[hooked], headers=AUTH)
        wait_for(lambda: sum(d["outcome"] == "delivered" for d in server.engine.deliveries()) == 2)
        httpx.post(v1, json=[task("a quiet harbour at dawn", height=1000, providerSettings={"ideogram": {
            "remixStrenght": 75}})], headers=AUTH)  # fmt: skip
        httpx.post(v1, json=[task('<img src=x onerror="alert(document.cookie)"> as a neon sign', **ref)], headers=AUTH)
        httpx.patch(f"{server.url}/_mock/config", json={"latencyMin": 20, "latencyMax": 30, "failureRate": 0.05})
        httpx.post(v1, json=[task("an isometric city block", deliveryMethod="async", numberResults=2, **ref)],
                   headers=AUTH)  # fmt: skip

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(server.url + "/")
            page.wait_for_selector("#journal .request")
            deadline = time.monotonic() + 10
            while not page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"):
                if time.monotonic() > deadline:
                    raise SystemExit("thumbnails did not load")
                page.wait_for_timeout(50)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.png")
