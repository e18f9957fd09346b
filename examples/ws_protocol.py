import asyncio
import json
import os
import uuid

from websockets.asyncio.client import connect

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")


async def main() -> None:
    async with connect(BASE.replace("http", "ws", 1) + "/v1") as ws:
        await ws.send(json.dumps([{"taskType": "authentication", "apiKey": "any-key"}]))
        session = json.loads(await ws.recv())["data"][0]["connectionSessionUUID"]  # keep it to resume
        task = {
            "taskType": "imageInference",
            "taskUUID": str(uuid.uuid4()),
            "model": "ideogram:1@2",
            "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
            "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
            "width": 1024,
            "height": 1024,
            "numberResults": 2,
        }
        await ws.send(json.dumps([task]))
        for _ in range(2):  # one frame per image, as each is ready
            result = json.loads(await ws.recv())["data"][0]
            print(result["taskUUID"] == task["taskUUID"], result["imageURL"].endswith(".jpg"))
        await ws.send(json.dumps([{"taskType": "ping", "ping": True}]))
        print(await ws.recv(), len(session))


asyncio.run(main())
