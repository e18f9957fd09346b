"""A first test with the kit: `ideogram_mock` answers Runware's API in process, with real images."""

import httpx

TASK = {
    "taskType": "imageInference",
    "taskUUID": "6ba7b824-9dad-41d1-80b4-00c04fd430c8",
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "providerSettings": {"ideogram": {"remixStrength": 75}},
}


def test_remix(ideogram_mock):
    answer = httpx.post("https://api.runware.ai/v1", json=[TASK], headers={"Authorization": "Bearer key"})
    assert answer.status_code == 200
    image = httpx.get(answer.json()["data"][0]["imageURL"])
    assert image.content[:3] == b"\xff\xd8\xff"  # a real JPEG, served by the mock
    assert ideogram_mock.tasks[0]["providerSettings"]["ideogram"]["remixStrength"] == 75
