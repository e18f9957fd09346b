"""Runs the official ``runware-sdk`` (REST transport) against a live mock; argv[1] is its base URL.

Run with the Python of a venv that has ``runware-sdk`` installed (not the kit's own venv:
``runware`` and ``runware-sdk`` share the import name). Prints one line per check, then OK.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import aiohttp
from runware import Runware, RunwareError

BASE = sys.argv[1].rstrip("/")
RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
TASK = {
    "taskType": "imageInference",  # passing it keeps the SDK from fetching its model registry
    "model": "ideogram:1@2",
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "inputs": {"referenceImages": ["data:image/png;base64," + RED_PIXEL_PNG]},
    "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D", "magicPrompt": "ON"}},
}


async def main() -> None:
    async with Runware(api_key="test-key", transport="rest", http_base_url=f"{BASE}/v1", max_retries=0) as client:
        results = await client.run({**TASK, "taskUUID": str(uuid.uuid4()), "deliveryMethod": "sync",
                                    "numberResults": 2})  # fmt: skip
        assert len(results) == 2, results
        assert len({r["imageUUID"] for r in results}) == 2, results
        async with aiohttp.ClientSession() as session, session.get(results[0]["imageURL"]) as response:
            body = await response.read()
            assert response.status == 200 and body[:3] == b"\xff\xd8\xff", (response.status, body[:8])
        print("sync: 2 results, JPEG downloaded")

        results = await client.run({**TASK, "outputType": "base64Data", "includeCost": True})  # async by default
        assert len(results) == 1 and results[0]["status"] == "success", results
        assert results[0]["imageBase64Data"].startswith("/9j/") and results[0]["cost"] > 0, results
        print("async: polled getResponse until success")

        bad = {**TASK, "providerSettings": {"ideogram": {"remixStrength": 150}}}
        try:
            await client.run(bad)
        except RunwareError as exc:
            assert exc.parameter == "providerSettings.ideogram.remixStrength", vars(exc)
            assert exc.code is not None
            print(f"invalid remixStrength: RunwareError code={exc.code} parameter={exc.parameter}")
        else:
            raise AssertionError("remixStrength 150 was accepted")
    print("OK")


if __name__ == "__main__":
    asyncio.run(main())
