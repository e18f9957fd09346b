"""Runs the official ``runware-sdk`` with ``transport="websocket"`` against a live mock; argv[1] is its base URL.

Run with the Python of a venv that has ``runware-sdk`` installed (not the kit's own venv:
``runware`` and ``runware-sdk`` share the import name). Prints one line per check, then OK.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import aiohttp
from runware import Runware, RunwareError

WS_URL = sys.argv[1].rstrip("/").replace("http://", "ws://") + "/v1"
RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
TASK = {
    "taskType": "imageInference",  # passing it keeps the SDK from fetching its model registry
    "model": "ideogram:1@2",
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "numberResults": 2,
    "inputs": {"referenceImages": ["data:image/png;base64," + RED_PIXEL_PNG]},
    "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D", "magicPrompt": "ON"}},
}


async def main() -> None:
    async with Runware(api_key="test-key", transport="websocket", ws_base_url=WS_URL, max_retries=0) as client:
        results = await client.run({**TASK, "taskUUID": str(uuid.uuid4()), "deliveryMethod": "sync"})
        assert len(results) == 2 and len({r["imageUUID"] for r in results}) == 2, results
        async with aiohttp.ClientSession() as session, session.get(results[0]["imageURL"]) as response:
            body = await response.read()
            assert response.status == 200 and body[:3] == b"\xff\xd8\xff", (response.status, body[:8])
        print("sync: 2 results, JPEG downloaded")

        results = await client.run({**TASK, "outputType": "base64Data", "includeCost": True})  # async by default
        assert len(results) == 2 and all(r["status"] == "success" for r in results), results
        assert all(r["imageBase64Data"].startswith("/9j/") and r["cost"] > 0 for r in results), results
        print("async: acknowledged, getResponse over the socket until 2 results")

        bad = {**TASK, "providerSettings": {"ideogram": {"remixStrength": 150}}}
        try:
            await client.run({**bad, "deliveryMethod": "sync"})
        except RunwareError as exc:
            assert exc.parameter == "providerSettings.ideogram.remixStrength", vars(exc)
            assert "between 1 and 100" in str(exc), str(exc)
            print(f"invalid remixStrength: RunwareError code={exc.code} parameter={exc.parameter}")
        else:
            raise AssertionError("remixStrength 150 was accepted")
    print("OK")


if __name__ == "__main__":
    asyncio.run(main())
