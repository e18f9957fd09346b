"""A test that fails on purpose: its application calls Runware's API and no fixture answers it."""

import requests


def test_forgot_the_fixture():
    requests.post("https://api.runware.ai/v1", json=[], timeout=5)
