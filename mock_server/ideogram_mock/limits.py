"""The request limits, checked by every transport in this order: :func:`parse` (size is the
transport's, then JSON strictness and ``max_json_depth``), :func:`too_many_tasks`
(``max_tasks_per_request``), validation, :func:`too_many_images` (``max_images_per_request``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ideogram_kit import schemas
from ideogram_kit.errors import TaskError
from ideogram_kit.payloads import parse_json

from .config import MockConfig
from .records import error_item
from .tasks import default

__all__ = ["parse", "too_many_images", "too_many_tasks"]


@functools.cache
def _key_table() -> dict[str, str]:
    """Every property name of the request schemas, as one string each: parsed tasks share these keys."""
    return {name: name for name in schemas.request_property_names()}


def parse(body: bytes | str, config: MockConfig) -> Any:
    """The JSON of a body or frame, nested at most ``max_json_depth`` deep (raises JSONInputError)."""
    return parse_json(body, max_depth=config.max_json_depth, key_table=_key_table())


def too_many_tasks(tasks: list[Any], config: MockConfig, what: str = "request") -> dict[str, Any] | None:
    """The payloadTooLarge error item when ``tasks`` holds more than ``max_tasks_per_request``."""
    limit = config.max_tasks_per_request
    if len(tasks) <= limit:
        return None
    return error_item(
        "payloadTooLarge", f"The {what} has {len(tasks)} tasks; the limit is {limit} (max_tasks_per_request).",
        max=limit, hint=f"split the tasks over several {what}s",
    )  # fmt: skip


def too_many_images(
    tasks: list[Any], found: Mapping[int, list[TaskError]], config: MockConfig, what: str = "request"
) -> dict[str, Any] | None:
    """The payloadTooLarge error item when the valid ``imageInference`` tasks of ``tasks`` (those
    without errors in ``found``) ask for more than ``max_images_per_request`` images together."""
    limit = config.max_images_per_request
    images = sum(int(t.get("numberResults", default("numberResults"))) for i, t in enumerate(tasks)
                 if i not in found and t["taskType"] == "imageInference")  # fmt: skip
    if images <= limit:
        return None
    return error_item(
        "payloadTooLarge",
        f"The {what} asks for {images} images (numberResults summed over its tasks); the limit is {limit} "
        "(max_images_per_request).",
        max=limit, hint=f"split the tasks over several {what}s",
    )  # fmt: skip
