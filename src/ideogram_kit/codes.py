"""Runware's error dialect: which code, and which documentation link, a mistake gets on the wire.

Runware names its validation codes **per parameter**, not per kind of failure
(``../shared/spec/runware-evidence.md``): a bad ``width`` is ``invalidWidth`` whatever is wrong
with it, a bad ``providerSettings.ideogram.remixStrength`` is ``invalidRemixStrength``. The kit
keeps its own finer classification of each mistake as :attr:`TaskError.kind
<ideogram_kit.errors.TaskError.kind>` (``outOfRange``, ``invalidType``, ...), so library users
can branch on the kind, and derives the wire code from kind and parameter here:

==========================  ===============================  ==========================
kind                        wire code                        evidence
==========================  ===============================  ==========================
invalidType, invalidValue,  ``invalid<Param>``               seen, sdk
outOfRange, invalidLength,
invalidFormat,
unsupportedModel
missingParameter            ``missing<Param>``               3p, sdk (our choice)
unknownParameter            ``unsupportedParameter``         3p
unknownTaskType             ``unsupportedTaskType``          sdk
anything else               the kind itself                  (see the catalogue)
==========================  ===============================  ==========================

``<Param>`` is the last segment of the parameter's dotted path, array indexes dropped, with
its first letter upper-cased: ``inputs.referenceImages[0]`` gives ``ReferenceImages``.
"""

from __future__ import annotations

import re

__all__ = [
    "API_REFERENCE",
    "AUTHENTICATION_DOCS",
    "VALUE_KINDS",
    "documentation_url",
    "parameter_name",
    "runware_code",
]

#: Runware's image-inference API reference: the documentation link of parameters that have no
#: better-known page.
API_REFERENCE = "https://runware.ai/docs/en/image-inference/api-reference"
#: Where Runware documents API keys (the link of authentication errors).
AUTHENTICATION_DOCS = "https://runware.ai/docs/platform/authentication"

#: Kinds of mistake about a value that was sent: their code is ``invalid<Param>``.
VALUE_KINDS = frozenset({"invalidType", "invalidValue", "outOfRange", "invalidLength", "invalidFormat",
                         "unsupportedModel"})  # fmt: skip
_RENAMED = {"unknownParameter": "unsupportedParameter", "unknownTaskType": "unsupportedTaskType"}
_INDEX = re.compile(r"\[\d+\]")


def parameter_name(parameter: str) -> str:
    """The last segment of a dotted parameter path, array indexes dropped: ``referenceImages``."""
    return _INDEX.sub("", parameter).rpartition(".")[2]


def _upper_camel(name: str) -> str:
    return name[:1].upper() + name[1:]


def runware_code(kind: str, parameter: str | None) -> str:
    """The code Runware sends for a mistake of ``kind`` on ``parameter`` (see the module table)."""
    if parameter:
        if kind in VALUE_KINDS:
            return "invalid" + _upper_camel(parameter_name(parameter))
        if kind == "missingParameter":
            return "missing" + _upper_camel(parameter_name(parameter))
    return _RENAMED.get(kind, kind)


#: Runware's pages for the task types other than imageInference.
_TASK_PAGES = {
    "getResponse": "https://runware.ai/docs/platform/task-polling",
    "getTaskDetails": "https://runware.ai/docs/platform/task-details",
    "authentication": AUTHENTICATION_DOCS,
}


def documentation_url(parameter: str | None, task_type: str | None = "imageInference", *, known: bool = True) -> str:
    """The ``documentation`` link of an error on ``parameter`` of a ``task_type`` task.

    Runware links a parameter's entry in its API reference (``...api-reference#request-width``,
    evidence: docs); the anchor is the parameter's top-level name in lower case. A parameter the
    model does not take (``known=False``) or a provider setting, whose entry on Runware's pages
    is not known, links the API reference itself (our choice). Other task types link their own
    page (getResponse, getTaskDetails, authentication).
    """
    page = _TASK_PAGES.get(task_type or "", API_REFERENCE)
    if not parameter or not known:
        return page
    top = _INDEX.sub("", parameter).partition(".")[0]
    if top == "providerSettings":
        return page
    return f"{page}#request-{top.lower()}"
