import base64
import io
import os
import uuid

import httpx
from PIL import Image

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")

png = io.BytesIO()
Image.new("RGB", (64, 64), "orange").save(png, "PNG")
task = {
    "taskType": "imageInference",
    "taskUUID": str(uuid.uuid4()),
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["data:image/png;base64," + base64.b64encode(png.getvalue()).decode()]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "numberResults": 2,
    "providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D", "magicPrompt": "ON"}},
}
response = httpx.post(f"{BASE}/v1", json=[task], headers={"Authorization": "Bearer any-key"})
print(response.status_code, len(response.json()["data"]), "results")
for result in response.json()["data"]:
    image = httpx.get(result["imageURL"])
    print(image.headers["content-type"], Image.open(io.BytesIO(image.content)).size)
