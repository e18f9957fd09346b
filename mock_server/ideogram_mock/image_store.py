"""Issued image URLs: :class:`ImageStore` keeps each image's recipe until its ttl passes.

An image is never stored as bytes: its :class:`~ideogram_mock.images.ImageRecipe` is, and the
renderer (with its byte-bounded cache) encodes it again when ``/images/<imageUUID>.<ext>`` is
asked for. At most ``max_images`` recipes are kept (the oldest stored goes first); expiry is a
heap of deadlines, so forgetting costs O(log n) per image, never a scan of all of them.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .config import MockConfig
from .images import ImageRecipe

__all__ = ["ImageStore"]


# A stored image is ``(the recipe's fields as a plain tuple, expires_at)``: plain tuples of strings and
# numbers, which the garbage collector stops tracking, so the max_images a server keeps cost full
# collections nothing (a dataclass holding an ImageRecipe is two objects it walks every time).
_Stored = tuple[tuple[Any, ...], float]


class ImageStore:
    """Recipes by imageUUID, with their deadlines; ``clock`` is monotonic seconds."""

    __slots__ = ("_clock", "_config", "_deadlines", "_images")

    def __init__(self, config: Callable[[], MockConfig], clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._images: OrderedDict[str, _Stored] = OrderedDict()
        self._deadlines: list[tuple[float, str]] = []

    def put(self, image_uuid: str, recipe: ImageRecipe, ttl: float) -> None:
        """Serve ``recipe`` as ``image_uuid`` for ``ttl`` seconds from now."""
        expires_at = self._clock() + ttl
        self._images[image_uuid] = (tuple(recipe), expires_at)
        self._images.move_to_end(image_uuid)
        heapq.heappush(self._deadlines, (expires_at, image_uuid))
        while len(self._images) > self._config().max_images:
            self._images.popitem(last=False)
        if len(self._deadlines) > 2 * len(self._images) + 64:  # stale deadlines of replaced or evicted images
            self._deadlines = [(at, key) for key, (_, at) in self._images.items()]
            heapq.heapify(self._deadlines)

    def recipe(self, image_uuid: str) -> ImageRecipe | None:
        """The recipe stored as ``image_uuid`` (expired or not: the renderer's cache key)."""
        stored = self._images.get(image_uuid)
        return ImageRecipe._make(stored[0]) if stored is not None else None

    def find(self, name: str) -> ImageRecipe | None:
        """The recipe behind ``<imageUUID>.<ext>``, or None when unknown, expired or of another format."""
        image_uuid, _, extension = name.lower().partition(".")
        stored = self._images.get(image_uuid)
        if stored is None or stored[1] <= self._clock():
            return None
        recipe = ImageRecipe._make(stored[0])
        return recipe if recipe.format.extension == extension else None

    def expire(self, now: float) -> None:
        """Forget the images whose ttl has passed."""
        while self._deadlines and self._deadlines[0][0] <= now:
            at, key = heapq.heappop(self._deadlines)
            stored = self._images.get(key)
            if stored is not None and stored[1] == at:
                del self._images[key]

    def clear(self) -> None:
        self._images.clear()
        self._deadlines.clear()
