"""The requests app's tests: no conftest, no network; ideogram_mock answers requests in process."""

import pytest
from remix_app import RemixError, remix

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
