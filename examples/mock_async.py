import os
import time
import uuid

import httpx

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")
client = httpx.Client(base_url=BASE, headers={"Authorization": "Bearer any-key"})

task_uuid = str(uuid.uuid4())
task = {
    "taskType": "imageInference",
    "taskUUID": task_uuid,
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 768,
    "deliveryMethod": "async",
    "outputType": "base64Data",
}
ack = client.post("/v1", json=[task]).json()  # answered at once
print(ack["data"][0]["taskUUID"] == task_uuid)

deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    state = client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task_uuid}]).json()
    if "errors" in state:
        raise SystemExit(state["errors"])
    if all(item["status"] == "success" for item in state["data"]):
        break
    time.sleep(0.5)
print([(item["status"], item["imageBase64Data"][:4]) for item in state["data"]])
