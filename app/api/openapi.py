"""The OpenAPI document, finished so that generated clients can use it.

FastAPI writes the routes, parameters and response models. This module adds what it cannot know: the two ways
to present a key (security schemes, per operation, optional when the service does not require keys), every error
status each operation can answer with and the one error schema they share (with an example per error code, from
app/api/error_codes.py), the rate-limit headers, and NDJSON answers described by the schema of each line.
"""

from __future__ import annotations

import copy
import threading

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.report import ErrorResponse

from .access import PUBLIC_PATHS, is_gated
from .error_codes import ERROR_CODES, codes_for

SCHEMA_REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "The API key in the X-API-Key header."},
    "BearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "The same API key as `Authorization: Bearer KEY`."},
}
STATUS_TITLES = {
    400: "The address cannot be checked", 401: "An API key is needed, or the one given is not valid",
    404: "Nothing at this path, or no such resource", 405: "This method is not allowed here",
    413: "The request body is too large", 422: "The request is malformed, or costs more than the caller may ever spend",
    429: "Rate limit or quota reached; Retry-After says when to try again", 500: "A fault of pharmacheck's own (logged)",
    503: "Busy or a store unreachable; Retry-After says when to try again",
}
RATE_HEADERS = {
    "RateLimit-Limit": ("integer", "Checks the caller may start per window."),
    "RateLimit-Remaining": ("integer", "Checks left in the current window."),
    "RateLimit-Reset": ("integer", "Seconds until the window starts again with the whole limit."),
    "RateLimit-Policy": ("string", "The limit and the window's length in seconds, e.g. `600;w=60`."),
    "X-RateLimit-Limit": ("integer", "The same as RateLimit-Limit."),
    "X-RateLimit-Remaining": ("integer", "The same as RateLimit-Remaining."),
    "X-RateLimit-Reset": ("integer", "When the window starts again, as a Unix time in seconds."),
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": 'The challenge, e.g. `Bearer realm="pharmacheck"`.',
                                         "schema": {"type": "string"}}}

# Models that appear only inside responses FastAPI does not describe itself (NDJSON lines).
_EXTRA_MODELS: list[type[BaseModel]] = [ErrorResponse]
# Which operations take a site address (and can answer 400 for it): by path prefix.
URL_TAKING = ("/api/v1/checks", "/api/v1/batches", "/api/v1/jobs", "/report.json")


def ndjson_response(description: str, *models: type[BaseModel]) -> dict:
    """A FastAPI `responses` entry for an answer of JSON lines, each one of `models`."""
    _EXTRA_MODELS.extend(m for m in models if m not in _EXTRA_MODELS)
    refs = [{"$ref": SCHEMA_REF.format(model=m.__name__)} for m in models]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": description + " Each line is one JSON value of this schema (JSON Lines).",
            "content": {"application/x-ndjson": {"schema": schema}}}


def _error_response(status: int, gated: bool, path: str) -> dict:
    codes = codes_for(status)
    examples = {
        e.code: {"summary": e.meaning, "value": {"error": {"code": e.code, "message": e.example}}}
        for e in codes
    }
    if status == 422:
        examples["invalid_request"]["value"]["error"]["details"] = [
            {"field": "url", "location": "body", "message": "url: expected a string of at most 2048 characters, got one of 3000"}]
    headers: dict = {}
    if gated and status != 401:
        headers.update(_rate_headers())
    if status in (429, 503):
        headers.update(RETRY_AFTER)
    if status == 401:
        headers.update(WWW_AUTHENTICATE)
    if status == 405:
        headers["Allow"] = {"description": "The methods this path answers.", "schema": {"type": "string"}}
    described = "; ".join(f"`{e.code}`: {e.meaning}" for e in codes) or "An error."
    response = {
        "description": f"{STATUS_TITLES.get(status, 'Error')}. {described}",
        "content": {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model="ErrorResponse")}}},
    }
    if examples:
        response["content"]["application/json"]["examples"] = examples
    if headers:
        response["headers"] = headers
    return response


def _rate_headers() -> dict:
    return {name: {"description": text, "schema": {"type": kind}} for name, (kind, text) in RATE_HEADERS.items()}


def _statuses(path: str, op: dict) -> list[int]:
    gated = is_gated(path)
    statuses = {404, 405, 500}
    if gated:
        statuses |= {401, 429, 503}
    if "requestBody" in op:
        statuses |= {413, 422}
    if op.get("parameters"):
        statuses.add(422)
    if path.startswith(URL_TAKING):
        statuses |= {400, 503}
    return sorted(statuses)


def finish_schema(base: dict, keys_required: bool) -> dict:
    schema = copy.deepcopy(base)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, definitions = models_json_schema([(m, "serialization") for m in _EXTRA_MODELS], ref_template=SCHEMA_REF)
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    security = [{"ApiKeyHeader": []}, {"BearerAuth": []}]
    for path, methods in schema.get("paths", {}).items():
        gated = is_gated(path)
        for method, op in methods.items():
            if method not in ("get", "put", "post", "delete", "patch", "options", "head", "trace"):
                continue
            responses = op.setdefault("responses", {})
            if gated:
                op["security"] = security + ([] if keys_required else [{}])
                for status, response in responses.items():
                    if str(status).startswith("2"):
                        response.setdefault("headers", {}).update(_rate_headers())
            else:
                op["security"] = []
            for status in _statuses(path, op):
                responses[str(status)] = _error_response(status, gated, path)
            responses["default"] = {
                "description": "Any other error, in the same error object (`http_error` with the HTTP status).",
                "content": {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model="ErrorResponse")}}},
            }
            for status, response in responses.items():
                content = response.get("content", {})
                if "application/x-ndjson" in content:
                    response["content"] = {"application/x-ndjson": content["application/x-ndjson"]}
    # FastAPI's own 422 schemas are replaced by ErrorResponse everywhere; drop them when nothing refers to them.
    text = str(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text:
            schemas.pop(name, None)
    info = schema.setdefault("info", {})
    info["description"] = _description(keys_required)
    return schema


def _description(keys_required: bool) -> str:
    public = ", ".join(f"`{p}`" for p in PUBLIC_PATHS)
    lines = [
        "Checks whether an online pharmacy is likely legitimate and explains why.",
        "",
        ("**Keys.** This service requires an API key on every JSON answer"
         if keys_required else "**Keys.** Keys are optional here: a key earns its own rate limit and quota")
        + f": `X-API-Key: KEY` or `Authorization: Bearer KEY`. Answered without a key: {public} and the web pages.",
        "",
        "**Limits.** Each check costs one unit of the caller's rate limit (per key, or per client address when "
        "anonymous) and of the key's quota. Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, "
        "`RateLimit-Reset` (seconds) and `X-RateLimit-*` (Reset as a Unix time); a 429 carries a `Retry-After` that "
        "is true. A request that costs more than the whole limit or quota is refused with 422 `batch_exceeds_limit`.",
        "",
        "**Errors** are always `{\"error\": {\"code\", \"message\"}}` (and `details` for invalid requests):",
        "",
        "| status | code | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {e.status} | `{e.code}` | {e.meaning} |" for e in ERROR_CODES]
    return "\n".join(lines)


def install_openapi(app: FastAPI) -> None:
    """Replace app.openapi with the finished document (one version with keys required, one without)."""
    original = app.openapi
    cache: dict = {}
    lock = threading.Lock()

    def openapi() -> dict:
        access = getattr(app.state, "access", None)
        required = bool(access.keys_required()) if access is not None else False
        with lock:
            if "base" not in cache:
                cache["base"] = original()
            if required not in cache:
                cache[required] = finish_schema(cache["base"], required)
            return cache[required]

    app.openapi = openapi
