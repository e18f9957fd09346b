"""A test that fails on purpose: it sends remixStrength 500, and the mock's 400 is not enough."""

import httpx

TASK = {
    "taskType": "imageInference",
    "taskUUID": "6ba7b824-9dad-41d1-80b4-00c04fd430c8",
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "providerSettings": {"ideogram": {"remixStrength": 500}},
}


def test_too_strong(ideogram_mock):
    answer = httpx.post("https://api.runware.ai/v1", json=[TASK], headers={"Authorization": "Bearer key"})
    assert answer.status_code == 400  # the application might well swallow this: the test still fails
