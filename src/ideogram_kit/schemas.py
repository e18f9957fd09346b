"""Loading the bundled JSON Schemas and the facts derived from them.

The files in ``schema/`` (shipped as ``ideogram_kit/schema``) are the single source of truth:
every bound, enum, default and allowed size that the validator, the strategies and the mock
use is read from here. ``$ref``s between the files resolve through a ``referencing``
registry built from the bundled files only; nothing is fetched from the network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import referencing
import referencing.jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as _JsonSchemaError

from .errors import ErrorCode, SchemaError

__all__ = [
    "BASE_URI",
    "DOCUMENTS",
    "allowed_sizes",
    "error_codes",
    "load",
    "parameter_schema",
    "registry",
    "request_property_names",
    "task_parameters",
    "uri",
    "validator",
]

BASE_URI = "https://ideogram-remix-kit.invalid/schema/"

#: Short names of the schema documents, mapped to their file names.
DOCUMENTS: Mapping[str, str] = {
    "common": "common.schema.json",
    "image-inference": "image-inference.schema.json",
    "request": "request.schema.json",
    "result": "result.schema.json",
    "error": "error.schema.json",
    "response": "response.schema.json",
}

JSON = Any


def uri(name: str) -> str:
    """The ``$id`` of the document called ``name`` (a key of :data:`DOCUMENTS`)."""
    return BASE_URI + _file(name)


def _file(name: str) -> str:
    try:
        return DOCUMENTS[name]
    except KeyError:
        known = ", ".join(DOCUMENTS)
        raise SchemaError(f"no schema document called {name!r}; known: {known}") from None


@functools.cache
def load(name: str) -> dict[str, JSON]:
    """The parsed schema document ``name``. Treat it as read-only: it is shared."""
    filename = _file(name)
    try:
        text = (resources.files("ideogram_kit") / "schema" / filename).read_text("utf-8")
    except OSError as exc:
        raise SchemaError(f"bundled schema {filename} cannot be read: {exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"bundled schema {filename} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("$id") != BASE_URI + filename:
        raise SchemaError(f"bundled schema {filename} must be an object with $id {BASE_URI + filename}")
    try:
        Draft202012Validator.check_schema(doc)
    except _JsonSchemaError as exc:
        raise SchemaError(f"bundled schema {filename} is not a valid JSON Schema: {exc.message}") from exc
    return doc


@functools.cache
def registry() -> referencing.Registry[JSON]:
    """A registry holding every bundled document under its ``$id`` (no retrieval)."""
    resources_ = [(uri(name), referencing.jsonschema.DRAFT202012.create_resource(load(name))) for name in DOCUMENTS]
    return referencing.Registry().with_resources(resources_).crawl()


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A jsonschema validator for document ``name``, resolving ``$ref``s through :func:`registry`."""
    return Draft202012Validator(load(name), registry=registry())


# ---------------------------------------------------------------------------------------------
# Facts derived from the schemas
# ---------------------------------------------------------------------------------------------


@functools.cache
def allowed_sizes() -> tuple[tuple[int, int], ...]:
    """The (width, height) pairs Ideogram 1.0 Remix accepts, in schema order."""
    pairs = []
    for branch in load("image-inference")["$defs"]["allowedSizes"]["anyOf"]:
        props = branch["properties"]
        pairs.append((int(props["width"]["const"]), int(props["height"]["const"])))
    return tuple(pairs)


@functools.cache
def request_property_names() -> frozenset[str]:
    """Every property name of the documents clients send (common, image-inference, request)."""
    names: set[str] = set()
    stack: list[Any] = [load(name) for name in ("common", "image-inference", "request")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


@functools.cache
def error_codes() -> Mapping[str, ErrorCode]:
    """The error-code catalogue, by code name, in documented order."""
    entries = load("error")["$defs"]["code"]["anyOf"]
    return {
        e["const"]: ErrorCode(e["const"], int(e["x-httpStatus"]), e["description"], e.get("x-evidence", "kit-only"))
        for e in entries
    }


def _resolve(schema: Mapping[str, JSON], base: str) -> tuple[Mapping[str, JSON], str]:
    """Follow ``$ref`` (if any) from ``schema`` and return the merged view and its base URI."""
    ref = schema.get("$ref")
    if ref is None:
        return schema, base
    resolved = registry().resolver(base).lookup(ref)
    target = resolved.contents
    merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return merged, str(resolved.resolver._base_uri)


def _walk(schema: Mapping[str, JSON], base: str, prefix: str) -> Iterator[tuple[str, Mapping[str, JSON]]]:
    props = schema.get("properties", {})
    for key, sub in props.items():
        merged, sub_base = _resolve(sub, base)
        path = f"{prefix}{key}"
        yield path, merged
        if merged.get("type") == "object":
            yield from _walk(merged, sub_base, path + ".")


@functools.cache
def task_parameters() -> Mapping[str, Mapping[str, JSON]]:
    """Every parameter of the imageInference task by dotted path, with ``$ref``s merged in.

    ``task_parameters()["providerSettings.ideogram.remixStrength"]["maximum"] == 100``.
    """
    return dict(_walk(load("image-inference"), uri("image-inference"), ""))


def parameter_schema(path: str) -> Mapping[str, JSON]:
    """The (``$ref``-merged) schema of one task parameter, by dotted path."""
    try:
        return task_parameters()[path]
    except KeyError:
        raise SchemaError(f"the imageInference schema has no parameter {path!r}") from None
