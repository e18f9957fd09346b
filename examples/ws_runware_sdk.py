import asyncio
import os

from runware import Runware  # pip install runware-sdk==1.8.0

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")
WS_URL = BASE.replace("http", "ws", 1) + "/v1"


async def main() -> None:
    async with Runware(api_key="any-key", transport="websocket", ws_base_url=WS_URL) as client:
        task = {
            "taskType": "imageInference",  # given, so the SDK does not fetch its model registry
            "model": "ideogram:1@2",
            "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
            "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
            "width": 1024,
            "height": 1024,
            "numberResults": 2,
            "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D"}},
        }
        results = await client.run({**task, "deliveryMethod": "sync"})  # pushed over the socket
        print(len(results), "images", [r["imageURL"].startswith(BASE) for r in results])
        results = await client.run(task)  # the SDK's default: async, getResponse over the socket
        print(len(results), "images after getResponse")


asyncio.run(main())
