"""An application built on requests: remixes an image with Runware's Ideogram 1.0 Remix (ideogram:1@2)."""

from __future__ import annotations

import os
import uuid

import requests

RUNWARE_URL = os.environ.get("RUNWARE_URL", "https://api.runware.ai/v1")
API_KEY = os.environ.get("RUNWARE_API_KEY", "test-key")


class RemixError(Exception):
    """Runware refused or failed the remix."""


def remix(image: str, prompt: str, strength: int = 75) -> bytes:
    """Remix ``image`` (an image UUID, URL or data URI) and return the new image's bytes."""
    task = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "ideogram:1@2",
        "inputs": {"referenceImages": [image]},
        "positivePrompt": prompt,
        "width": 1024,
        "height": 1024,
        "providerSettings": {"ideogram": {"remixStrength": strength}},
    }
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {API_KEY}"
        answer = session.post(RUNWARE_URL, json=[task], timeout=30)
        if answer.status_code != 200:
            error = answer.json()["errors"][0]
            raise RemixError(f"{error['code']}: {error.get('parameter')}")
        image_url = answer.json()["data"][0]["imageURL"]
        return session.get(image_url, timeout=30).content
