"""``GET /openapi.json``: an OpenAPI 3.1 description of ``/v1``, ``/images`` and ``/_mock/*``.

The request and response bodies are the kit's own JSON Schemas, embedded as components
(OpenAPI 3.1 speaks JSON Schema 2020-12; the documents keep their ``$id``s, so their
cross-document ``$ref``s resolve among the components).
"""

from __future__ import annotations

import functools
from typing import Any

from ideogram_kit import schemas

from .config import describe_fields

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _envelope_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("response")}}}


def _json_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {}}}}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (built once)."""
    codes = schemas.error_codes()
    envelope_statuses = sorted({c.http_status for c in codes.values()} | {200})
    v1_responses = {
        str(status): _envelope_response(
            "Results and acknowledgements" if status == 200 else
            "Errors: " + ", ".join(c.name for c in codes.values() if c.http_status == status)
        )
        for status in envelope_statuses
        if status not in (404, 405)  # an unknown image, path or method: not answers of POST /v1
    }  # fmt: skip
    v1_responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    config_schema = {
        "type": "object",
        "properties": {f["name"]: {"description": f["help"], "default": f["default"]} for f in describe_fields()},
    }
    list_of_objects = {"type": "array", "items": {"type": "object"}}
    paths: dict[str, dict[str, Any]]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "ideogram-remix-kit mock Runware endpoint",
            "version": "1",
            "description": "Runware's REST protocol for ideogram:1@2, plus inspection routes under /_mock/. "
            "The same path /v1 also accepts WebSocket connections (ws://HOST:PORT/v1): JSON-array frames of "
            "the same request schema, authentication first, answered with frames of the response schema "
            "(see ideogram_mock.websocket).",
        },
        "paths": {
            "/v1": {
                "post": {
                    "summary": "Run tasks (a JSON array: imageInference, authentication, getResponse, getTaskDetails, ping)",  # noqa: E501
                    "security": [{"bearer": []}, {}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("request")}}},
                    "responses": v1_responses,
                }
            },
            "/images/{name}": {
                "get": {
                    "summary": "An output image (<imageUUID>.<jpg|png|webp>), until its ttl passes",
                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The image", "content": {"image/*": {}}},
                        "404": _envelope_response("imageNotFound"),
                    },
                }
            },
            "/_mock/requests": {"get": {"summary": "Received requests with their validation results",
                                        "responses": {"200": _json_response("Requests", list_of_objects)}}},
            "/_mock/tasks": {"get": {"summary": "Tasks and their state",
                                     "responses": {"200": _json_response("Tasks", list_of_objects)}}},
            "/_mock/tasks/{task_uuid}": {"get": {
                "summary": "One task",
                "parameters": [{"name": "task_uuid", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json_response("The task"), "404": _json_response("Unknown task")},
            }},
            "/_mock/deliveries": {"get": {"summary": "Webhook and upload attempts",
                                          "responses": {"200": _json_response("Attempts", list_of_objects)}}},
            "/_mock/reset": {"post": {
                "summary": "Forget tasks, images, logs; restart the fault plan; settings back to the start-up config",
                "parameters": [{"name": "keepConfig", "in": "query", "required": False,
                                "description": "true keeps the current settings",
                                "schema": {"type": "string", "enum": ["true", "false"]}}],
                "responses": {"200": _json_response("Done"), "400": _json_response("Bad keepConfig")}}},
            "/_mock/config": {
                "get": {"summary": "The runtime config", "responses": {"200": _json_response("Config", config_schema)}},
                "patch": {
                    "summary": "Change settings at run time (faults, latency, rate limit, ...)",
                    "requestBody": {"content": {"application/json": {"schema": config_schema}}},
                    "responses": {"200": _json_response("The new config", config_schema),
                                  "400": _json_response("Unknown setting or bad value")},
                },
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json_response("OpenAPI")}}},
        },
        "components": {
            "schemas": {name: schemas.load(name) for name in schemas.DOCUMENTS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }  # fmt: skip
    paths = document["paths"]
    for path, operations in paths.items():  # the cross-site guard (ideogram_mock.guard)
        for method, operation in operations.items():
            operation["responses"]["403"] = _envelope_response("Errors: forbiddenOrigin, forbiddenHost")
            if path.startswith("/_mock/") and method in ("post", "patch"):
                operation["responses"]["415"] = _envelope_response("Errors: unsupportedMediaType")
    return document
