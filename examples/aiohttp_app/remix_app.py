"""An application built on aiohttp: remixes an image with Runware's Ideogram 1.0 Remix (ideogram:1@2)."""

from __future__ import annotations

import os
import uuid

import aiohttp

RUNWARE_URL = os.environ.get("RUNWARE_URL", "https://api.runware.ai/v1")
API_KEY = os.environ.get("RUNWARE_API_KEY", "test-key")


class RemixError(Exception):
    """Runware refused or failed the remix."""


async def remix(image: str, prompt: str, strength: int = 75) -> bytes:
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
    headers = {"Authorization": f"Bearer {API_KEY}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        async with session.post(RUNWARE_URL, json=[task]) as answer:
            body = await answer.json()
            if answer.status != 200:
                error = body["errors"][0]
                raise RemixError(f"{error['code']}: {error.get('parameter')}")
        async with session.get(body["data"][0]["imageURL"]) as image:
            return await image.read()
