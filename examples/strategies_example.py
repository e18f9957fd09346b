from hypothesis import given
from hypothesis import strategies as st

import ideogram_kit
from ideogram_kit import schemas
from ideogram_kit.strategies import InvalidCase, invalid_tasks, requests, responses, valid_tasks
from ideogram_kit.types import ImageInferenceTask


@given(valid_tasks(outputType="base64Data", numberResults=st.integers(1, 4)))
def test_builder_round_trips(task: dict) -> None:
    assert ideogram_kit.validate(task) == []  # put your payload builder / serialiser here


@given(invalid_tasks())
def test_client_rejects_bad_tasks(case: InvalidCase) -> None:
    # exactly one mistake; the validator (and the mock) report exactly this error
    [error] = ideogram_kit.validate(case.payload)
    assert (error.code, error.parameter) == (case.code, case.parameter)


@given(requests())
def test_whole_request_bodies(body: list) -> None:
    assert ideogram_kit.is_valid(body)


@given(responses())
def test_response_handler(envelope: dict) -> None:
    schemas.validator("response").validate(envelope)  # call your response handler here


@given(st.from_type(ImageInferenceTask))
def test_typed_tasks(task: ImageInferenceTask) -> None:
    assert task["model"] == "ideogram:1@2"


if __name__ == "__main__":
    for test in (test_builder_round_trips, test_client_rejects_bad_tasks, test_whole_request_bodies,
                 test_response_handler, test_typed_tasks):  # fmt: skip
        test()
    print("all properties hold")
