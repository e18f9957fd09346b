"""Hypothesis strategies for ``ideogram:1@2`` payloads, generated from the bundled schema.

Entry points:

- :func:`valid_tasks` (``**overrides`` pin a field or give it a strategy): ``imageInference``
  tasks that :func:`ideogram_kit.validate` accepts.
- :func:`invalid_tasks`: :class:`InvalidCase` objects, a task with exactly one mistake plus
  the ``parameter`` and ``code`` the validator must report for it, and a short ``reason``.
- :func:`requests`: whole request arrays (tasks, ``getResponse``, ``getTaskDetails``, ``ping``,
  ``authentication``).
- :func:`responses`: response envelopes as the mock sends them (results, acknowledgements,
  poll states, error lists, pongs).
- :func:`image_references`: every form an input image may take (UUID, URL, data URI, base64
  of a real PNG/JPEG/WEBP).
- :func:`sample`: ``n`` examples of a strategy, the same ones for the same seed.

Every bound, enum, size pair, required list, pattern and dependency is read from
``schema/*.schema.json`` when this module is imported; a schema shape the generator does
not understand raises :class:`~ideogram_kit.errors.SchemaError` here rather than
producing wrong payloads later.

An invalid case is built as *one* mutation of a valid task. The mutation (its kind and its
target parameter) is drawn first; the bad value comes from a strategy that only yields bad
values for that rule, and the mutation never touches another parameter's rule. So every
example hypothesis shrinks to is still invalid, for the reason its label gives.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as _seed
from hypothesis import strategies as st

from .strategy_envelopes import requests, responses
from .strategy_mistakes import _MUTATIONS as _MUTATIONS
from .strategy_mistakes import InvalidCase, invalid_tasks
from .strategy_mistakes import _invalid_case as _invalid_case
from .strategy_tasks import typed_tasks, valid_tasks
from .strategy_values import _RESULT_FIELD as _RESULT_FIELD
from .strategy_values import image_references
from .types import ImageInferenceTask

__all__ = [
    "InvalidCase",
    "image_references",
    "invalid_tasks",
    "requests",
    "responses",
    "sample",
    "typed_tasks",
    "valid_tasks",
]
# _MUTATIONS, _invalid_case and _RESULT_FIELD are re-exported for the test suite and ideogram_kit.contract.

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Reproducible sampling
# ---------------------------------------------------------------------------------------------


def sample(strategy: st.SearchStrategy[T], n: int, *, seed: int) -> list[T]:
    """``n`` examples of ``strategy``, the same list for the same ``seed`` (and hypothesis version).

    Runs hypothesis' generate phase under ``@seed``, with no example database, so the draws
    depend on nothing but the seed. Do not call it from inside a ``@given`` test.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    found: list[T] = []
    round_ = 0
    while len(found) < n:
        want = n - len(found)

        @_seed(seed * 1_000_003 + round_)
        @settings(
            database=None,
            max_examples=want,
            phases=[Phase.generate],
            derandomize=False,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
        )
        @given(strategy)
        def collect(example: T) -> None:
            found.append(example)

        before = len(found)
        collect()
        if len(found) == before:  # pragma: no cover - a strategy that never yields
            raise ValueError("the strategy produced no examples")
        round_ += 1
    return found[:n]


st.register_type_strategy(ImageInferenceTask, typed_tasks())
