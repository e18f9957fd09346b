"""Benchmark: the mock's sync URL-output tasks against a bare Starlette route, same uvicorn.

Run by hand:  .venv/bin/python bench/serve.py [--seconds 5] [--concurrency 16]

One uvicorn process (a subprocess, so the client does not share its GIL) serves an app with
two routes: ``POST /v1`` (the mock: parse, authenticate, validate, run the task, log it) and
``POST /bare/v1`` (a bare Starlette route that reads the body and returns a fixed JSON answer
of the same shape). The same httpx client, with the same concurrency, posts the docs example
(fresh taskUUID each time) to each in turn. Prints requests/s, p50 and p99 for both and their
ratio, then the cost of a 1024x1024 base64 JPG result against a bare Pillow encode.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DOCS_EXAMPLE = json.loads((ROOT / "examples" / "docs-example.json").read_text())
_ITEM = {"taskType": "imageInference", "taskUUID": DOCS_EXAMPLE["taskUUID"], "imageUUID": DOCS_EXAMPLE["taskUUID"]}
BARE_ANSWER = json.dumps({"data": [{**_ITEM, "imageURL": "http://127.0.0.1/images/x.jpg", "seed": 1}]}).encode()


def build_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    from ideogram_mock import MockConfig, create_app

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(BARE_ANSWER, media_type="application/json")

    mock = create_app(MockConfig(max_tasks=2000, request_log_size=200))
    return Starlette(routes=[Route("/bare/v1", bare, methods=["POST"]), Mount("/", app=mock)])


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off")


async def load(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": "Bearer bench"}, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = [{**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4())}]
                start = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50": cuts[49] * 1000, "p99": cuts[98] * 1000}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def image_ratio() -> tuple[float, float]:
    from ideogram_mock import MockEngine
    from ideogram_mock.images import ImageRecipe, ImageRenderer

    picture = ImageRenderer(0).picture(ImageRecipe("ref", "p", 1, 50, "s", 1024, 1024, "JPG", 95))

    def bare() -> None:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=95)
        base64.b64encode(out.getvalue())

    bare_times = []
    for _ in range(20):
        start = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - start)

    async def mock_times() -> list[float]:
        engine = MockEngine()
        times = []
        for _ in range(20):
            engine.reset()
            task = {**DOCS_EXAMPLE, "taskUUID": str(uuid.uuid4()), "outputType": "base64Data"}
            start = time.perf_counter()
            await engine.run(task, base_url="http://127.0.0.1/")
            times.append(time.perf_counter() - start)
        await engine.aclose()
        return times

    return statistics.median(asyncio.run(mock_times())) * 1000, statistics.median(bare_times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"{base}/bare/v1", json=[])
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        asyncio.run(load(f"{base}/v1", 1.0, args.concurrency))  # warm-up
        bare = asyncio.run(load(f"{base}/bare/v1", args.seconds, args.concurrency))
        mock = asyncio.run(load(f"{base}/v1", args.seconds, args.concurrency))
    finally:
        server.terminate()
        server.wait(10)
    print(f"bare route : {bare['rps']:7.0f} req/s  p50 {bare['p50']:6.2f} ms  p99 {bare['p99']:6.2f} ms")
    print(f"mock /v1   : {mock['rps']:7.0f} req/s  p50 {mock['p50']:6.2f} ms  p99 {mock['p99']:6.2f} ms")
    print(f"ratio      : {mock['rps'] / bare['rps']:.2f}x the bare route's throughput (target >= 0.3x)")
    ours, pillow = image_ratio()
    print(f"1024x1024 base64 JPG result: {ours:.2f} ms vs bare Pillow encode {pillow:.2f} ms = {ours / pillow:.2f}x")


if __name__ == "__main__":
    main()
