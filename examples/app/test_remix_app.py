"""The app's tests: no conftest, no network; the fixtures come with ideogram-remix-kit."""

import httpx
import pytest
from remix_app import RemixError, on_webhook, remix, start_remix

PHOTO = "c64351d5-4c59-42f7-95e1-eace013eddab"  # an image uploaded to Runware earlier


def test_remix_returns_the_new_image(ideogram_mock):
    image = remix(PHOTO, "the same cat, as a neon sign", strength=80)

    assert image[:3] == b"\xff\xd8\xff"  # a real JPEG, served by the mock
    (task,) = ideogram_mock.tasks
    assert task["providerSettings"]["ideogram"]["remixStrength"] == 80


def test_a_provider_failure_becomes_remix_error(ideogram_mock):
    ideogram_mock.fail_next("providerError")
    with pytest.raises(RemixError, match="providerError"):
        remix(PHOTO, "the same cat, as a neon sign")


@pytest.mark.ideogram(allow_invalid=True)  # this test sends a bad payload on purpose
def test_a_strength_out_of_range_is_refused(ideogram_mock):
    with pytest.raises(RemixError, match="remixStrength"):
        remix(PHOTO, "the same cat, as a neon sign", strength=500)


def test_the_webhook_delivers_the_remix(ideogram_mock, ideogram_webhook_body):  # runs once per body shape
    task_uuid = start_remix(PHOTO, "a watercolor cat", webhook_url="https://app.example/hooks/runware")
    ideogram_mock.drain()  # let the mock's webhook deliveries finish

    (body,) = ideogram_mock.webhooks
    assert on_webhook(body)[0] == task_uuid
    assert httpx.get(on_webhook(body)[1]).status_code == 200


def test_the_webhook_over_a_real_socket(ideogram_server, ideogram_webhook_receiver):
    hook = ideogram_webhook_receiver.url_for("/hooks/runware?token=s3cret")
    task_uuid = start_remix(PHOTO, "a watercolor cat", webhook_url=hook, base_url=ideogram_server.base_url)

    (delivery,) = ideogram_webhook_receiver.wait_for(1)
    assert delivery.query == {"token": ["s3cret"]}
    assert on_webhook(delivery.json())[0] == task_uuid
