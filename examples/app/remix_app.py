"""A tiny application that remixes images with Runware's Ideogram 1.0 Remix (ideogram:1@2)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx

RUNWARE_URL = os.environ.get("RUNWARE_URL", "https://api.runware.ai/v1")
API_KEY = os.environ.get("RUNWARE_API_KEY", "test-key")


class RemixError(Exception):
    """Runware refused or failed the remix."""


def _task(image: str, prompt: str, strength: int, **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "ideogram:1@2",
        "inputs": {"referenceImages": [image]},
        "positivePrompt": prompt,
        "width": 1024,
        "height": 1024,
        "providerSettings": {"ideogram": {"remixStrength": strength, "styleType": "RENDER_3D"}},
        **extra,
    }


def remix(image: str, prompt: str, strength: int = 75, base_url: str = RUNWARE_URL) -> bytes:
    """Remix ``image`` and return the new image's bytes (JPEG)."""
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as client:
        answer = client.post(base_url, json=[_task(image, prompt, strength)])
        if answer.status_code != 200:
            error = answer.json()["errors"][0]
            raise RemixError(f"{error['code']}: {error.get('parameter')}")
        return client.get(answer.json()["data"][0]["imageURL"]).content


def start_remix(image: str, prompt: str, webhook_url: str, base_url: str = RUNWARE_URL) -> str:
    """Ask for a remix delivered to ``webhook_url``; returns the taskUUID to match it later."""
    task = _task(image, prompt, 75, webhookURL=webhook_url)
    answer = httpx.post(base_url, json=[task], headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["data"][0]["taskUUID"])


def on_webhook(body: dict[str, Any]) -> tuple[str, str]:
    """Our webhook endpoint's logic: ``(taskUUID, imageURL)`` of a finished remix.

    Runware's own skills repo gives the flat result (or error) object as the body; a third party parses
    ``{"data": [result]}`` / ``{"errors": [error]}``: this handler takes both.
    """
    if "errors" in body:
        raise RemixError(body["errors"][0]["code"])
    if "code" in body:  # a flat error object
        raise RemixError(body["code"])
    result = body["data"][0] if "data" in body else body
    return result["taskUUID"], result["imageURL"]
