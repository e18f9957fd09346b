"""Mocking other hosts beside ideogram_mock: add their routes to the mock's own responses and aioresponses."""

import asyncio

import aiohttp
import requests


def test_a_requests_app_that_also_calls_a_storage_service(ideogram_mock):
    ideogram_mock.responses.get("https://storage.example/quota", json={"left": 3})

    assert requests.get("https://storage.example/quota", timeout=5).json() == {"left": 3}
    assert requests.get("https://api.runware.ai/v1", timeout=5).status_code == 405  # still the mock


def test_an_aiohttp_app_that_also_calls_a_storage_service(ideogram_mock):
    ideogram_mock.aioresponses.get("https://storage.example/quota", payload={"left": 3})

    async def quota():
        async with aiohttp.ClientSession() as session, session.get("https://storage.example/quota") as answer:
            return await answer.json()

    assert asyncio.run(quota()) == {"left": 3}
