"""Every webhook attempt the live mock makes, refused ones included, as the receiver and the mock saw them."""

import uuid

import httpx
import pytest

TASK = {
    "taskType": "imageInference",
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "providerSettings": {"ideogram": {"remixStrength": 75}},
}


@pytest.mark.ideogram(delivery_base_delay=0.01)  # retry after 10 ms instead of Runware's 250 ms
def test_the_webhook_is_retried_until_accepted(ideogram_server, ideogram_webhook_receiver):
    ideogram_webhook_receiver.fail_next(2, status=503)  # refuse the first two attempts
    task = {**TASK, "taskUUID": str(uuid.uuid4()), "webhookURL": ideogram_webhook_receiver.url_for("/hooks/remix")}
    httpx.post(ideogram_server.base_url, json=[task], headers={"Authorization": "Bearer key"})

    attempts = ideogram_webhook_receiver.wait_for(3, count="attempts")  # refused ones count too

    assert [a.status for a in attempts] == [503, 503, 200]
    assert [a.headers["x-delivery-attempt"] for a in attempts] == ["1", "2", "3"]  # case-insensitive headers
    assert ideogram_webhook_receiver.refused == attempts[:2]
    (delivery,) = ideogram_webhook_receiver.deliveries  # the accepted one
    assert delivery.json()["taskUUID"] == task["taskUUID"]
    # the mock's own log already shows the attempts the receiver saw
    assert [(d["attempt"], d["statusCode"]) for d in ideogram_server.deliveries] == [(1, 503), (2, 503), (3, 200)]
