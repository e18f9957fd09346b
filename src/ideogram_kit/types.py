"""Static types of an ``imageInference`` task, for type checkers and ``st.from_type``.

These ``TypedDict``s name the keys of ``schema/image-inference.schema.json``; the schema
still holds every bound, enum and size (enum-valued keys are typed ``str``, not ``Literal``,
so nothing is copied from it). ``tests/test_strategies.py`` checks that the keys and their
required/optional split match the schema, so an edit to one without the other fails.

The ``hypothesis`` entry point of the package (:mod:`ideogram_kit.hypothesis_hook`) registers
them, so ``st.from_type(ImageInferenceTask)`` draws from :func:`ideogram_kit.strategies.valid_tasks`
without importing :mod:`ideogram_kit.strategies` first. This module imports nothing of the kit.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["IdeogramSettings", "ImageInferenceTask", "Inputs", "ProviderSettings", "Safety"]


class Inputs(TypedDict):
    """``inputs``: the image to remix."""

    referenceImages: list[str]


class Safety(TypedDict, total=False):
    """``safety``: content checking settings."""

    checkContent: bool
    mode: str


class IdeogramSettings(TypedDict, total=False):
    """``providerSettings.ideogram``: Ideogram-specific settings."""

    magicPrompt: str
    remixStrength: int
    renderingSpeed: str
    styleReferenceImages: list[str]
    styleType: str


class ProviderSettings(TypedDict, total=False):
    """``providerSettings``: settings passed to the provider."""

    ideogram: IdeogramSettings


class _RequiredTaskKeys(TypedDict):
    taskType: str
    taskUUID: str
    model: str
    positivePrompt: str
    width: int
    height: int
    inputs: Inputs


class ImageInferenceTask(_RequiredTaskKeys, total=False):
    """One ``imageInference`` task for ``ideogram:1@2`` (required keys plus these optional ones)."""

    outputType: str
    outputFormat: str
    outputQuality: int
    webhookURL: str
    deliveryMethod: str
    uploadEndpoint: str
    safety: Safety
    ttl: int
    checkNSFW: bool  # deprecated: use safety.checkContent (accepted with a warning)
    includeCost: bool
    numberResults: int
    negativePrompt: str
    providerSettings: ProviderSettings
