"""The gateway's OpenAPI 3.1 description (`/openapi.json`), generated from its route tables: one
operation per (method, path) a table routes, named after its handler and summarised by the
handler's docstring or name, with MLflow's error body as every failure's schema.

Request fields are not described one by one: MLflow documents them per endpoint
(https://mlflow.org/docs/latest/rest-api.html); a GET takes them as its query, the other methods
as a JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

Json = dict[str, Any]

ERROR_BODY: Json = {
    "type": "object",
    "description": "MLflow's error body.",
    "required": ["error_code", "message"],
    "properties": {
        "error_code": {"type": "string", "examples": ["RESOURCE_DOES_NOT_EXIST"]},
        "message": {"type": "string"},
        "error_class": {"type": "string"},
        "sqlstate": {"type": "string"},
    },
}


def _summary(handler: Callable[..., Any]) -> str:
    doc = (handler.__doc__ or "").strip()
    if doc:
        return doc.split("\n\n")[0].replace("\n", " ")
    return handler.__name__.replace("_", " ").capitalize()


def _operation(method: str, handler: Callable[..., Any], path: str) -> Json:
    operation: Json = {
        "operationId": f"{method.lower()}_{handler.__name__}_{_slug(path)}",
        "summary": _summary(handler),
        "responses": {
            "200": {
                "description": "MLflow's JSON answer.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "default": {
                "description": "A refused or failed request.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if method in ("POST", "PATCH", "DELETE"):
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return operation


def _slug(path: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in path).strip("_")


def openapi_document(
    operations: Iterable[tuple[str, str, Callable[..., Any]]], version: str
) -> Json:
    """The document for `(method, full path, handler)` triples; `{name}` in a path is a path
    parameter (the artifact proxy's `{path}` spans slashes)."""
    paths: dict[str, Json] = {}
    for method, path, handler in sorted(operations, key=lambda op: (op[1], op[0])):
        item = paths.setdefault(path, {})
        item[method.lower()] = _operation(method, handler, path)
        if names := re.findall(r"\{(\w+)\}", path):
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in names
            ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mlgrpc gateway: MLflow's REST API",
            "version": version,
            "description": "MLflow's tracking, model-registry and artifact-proxy endpoints, "
            "served by the mlgrpc services (docs/gateway.md lists the differences).",
        },
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_BODY}},
    }
