"""The ``hypothesis`` entry point of the package: ``st.from_type(ImageInferenceTask)`` draws valid tasks.

Hypothesis runs :func:`setup` when it is imported; registering a function (not the strategy)
keeps that cheap: :mod:`ideogram_kit.strategies` (and the schemas behind it) is imported only
when a test first asks for the type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import ImageInferenceTask

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["setup"]


def _task_strategy(thing: type[ImageInferenceTask]) -> SearchStrategy[ImageInferenceTask]:
    from .strategies import typed_tasks  # deferred: hypothesis imports this hook at start-up

    return typed_tasks()


def setup() -> None:
    """Register :class:`~ideogram_kit.types.ImageInferenceTask` with hypothesis."""
    from hypothesis import strategies as st

    st.register_type_strategy(ImageInferenceTask, _task_strategy)
