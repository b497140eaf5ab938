"""Request validation errors in plain words: which field, what was expected, what came instead.

pydantic says "Input should be a valid dictionary" at location ("body",) and FastAPI reports a JSON syntax error
as "JSON decode error" at ("body", 8); a person integrating the API needs "the request body must be a JSON
object with the field url" and "not valid JSON at line 1, column 9: a property name in double quotes was
expected". Each error becomes one sentence naming the field (`urls[2]`, `url (query parameter)`) and what it
should have been; the message joins them, and `details` keeps them apart for programs.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SHOWN = 5

# What the request body of each kind of request should look like, for "expected a JSON object ..." messages.
BODY_EXAMPLE = '{"url": "https://pharmacy.example"}'

_JSON_REASONS = {
    "Expecting property name enclosed in double quotes": "a field name in double quotes was expected",
    "Expecting ',' delimiter": "a comma was expected between two items",
    "Expecting ':' delimiter": "a colon was expected after a field name",
    "Expecting value": "a value was expected (a string in double quotes, a number, true, false, null, [ or {)",
    "Extra data": "the JSON value is complete, but more text follows it",
    "Unterminated string starting at": "a string is not closed with a double quote",
    "Invalid control character at": "a string holds a raw control character (write it as \\n, \\t or \\u0000)",
    "Invalid \\escape": "a string holds an invalid escape after a backslash",
    "Invalid \\uXXXX escape": "a string holds an invalid \\u escape",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _kind(value: Any) -> str:
    """What a JSON value is, in words: 'a number (12)', 'a list', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return "an empty string" if not value else f"a string of {_plural(len(value), 'character')}" if len(value) > 40 else f"the string {json.dumps(value)}"
    if isinstance(value, (list, tuple)):
        return "an empty list" if not value else f"a list of {_plural(len(value), 'item')}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (bytes, bytearray)):
        return "text that is not JSON"
    return type(value).__name__


def field_name(loc: tuple) -> str:
    """("body", "urls", 2) -> "urls[2]"; ("query", "url") -> "url (query parameter)"; ("body",) -> "request body"."""
    if not loc:
        return "request"
    where, rest = loc[0], list(loc[1:])
    name = ""
    for part in rest:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    if where == "body":
        return name or "request body"
    label = {"query": "query parameter", "path": "path parameter", "header": "header", "cookie": "cookie"}.get(str(where), str(where))
    return f"{name} ({label})" if name else label


def _expected(err: dict) -> str:
    """What was expected, from the error type and its context."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("string_too_short", "too_short") or kind in ("string_too_long", "too_long"):
        what = "a string" if kind.startswith("string") else "a list"
        unit = "character" if kind.startswith("string") else "item"
        if "min_length" in ctx:
            return f"{what} of at least {_plural(int(ctx['min_length']), unit)}"
        return f"{what} of at most {_plural(int(ctx['max_length']), unit)}"
    simple = {
        "string_type": "a string", "str_type": "a string",
        "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
        "float_type": "a number", "float_parsing": "a number",
        "bool_type": "true or false", "bool_parsing": "true or false",
        "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
        "dict_type": "a JSON object", "model_type": "a JSON object", "model_attributes_type": "a JSON object",
        "url_type": "a URL", "url_parsing": "a URL", "url_scheme": "an http or https URL",
        "datetime_type": "a date and time such as 2026-12-01T10:00:00Z", "datetime_parsing": "a date and time such as 2026-12-01T10:00:00Z",
        "datetime_from_date_parsing": "a date and time such as 2026-12-01T10:00:00Z",
        "date_type": "a date such as 2026-12-01", "date_parsing": "a date such as 2026-12-01",
        "uuid_type": "a UUID", "uuid_parsing": "a UUID",
        "string_pattern_mismatch": "a string matching the pattern " + str(ctx.get("pattern", "")),
        "bytes_type": "text",
    }
    if kind in simple:
        return simple[kind]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"greater_than": "greater than", "greater_than_equal": "at least", "less_than": "less than",
                 "less_than_equal": "at most"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"a number {words} {bound}"
    if kind in ("literal_error", "enum"):
        return "one of " + str(ctx.get("expected", "the listed values"))
    if kind == "multiple_of":
        return f"a multiple of {ctx.get('multiple_of')}"
    return ""


def body_example(route) -> str:
    """An example body for the route a request was meant for, from its model's field examples."""
    try:
        params = route.dependant.body_params
    except AttributeError:
        return BODY_EXAMPLE
    if len(params) != 1:
        return BODY_EXAMPLE
    model = params[0].field_info.annotation
    fields = getattr(model, "model_fields", None)
    if not fields:
        return BODY_EXAMPLE
    example = {}
    for name, info in fields.items():
        if info.is_required() and info.examples:
            example[name] = info.examples[0]
    return json.dumps(example) if example else BODY_EXAMPLE


def describe_error(err: dict, content_type: str = "", example: str = BODY_EXAMPLE) -> dict:
    """One validation error as {"field", "location", "message"}; message is a sentence a person can act on."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    field = field_name(loc)
    location = str(loc[0]) if loc else "request"
    if kind == "missing":
        where = "the request has no body" if loc == ("body",) else "missing"
        if loc == ("body",):
            return {"field": field, "location": location,
                    "message": f"request body: missing; expected a JSON object such as {example} (Content-Type: application/json)"}
        return {"field": field, "location": location, "message": f"{field}: {where}; this field is required"}
    if kind == "extra_forbidden":
        return {"field": field, "location": location, "message": f"{field}: not a field this request knows; leave it out"}
    if loc == ("body",) and kind in ("model_attributes_type", "dict_type", "model_type"):
        value = err.get("input")
        if isinstance(value, (bytes, bytearray)):
            sent = content_type.split(";", 1)[0].strip() or "no Content-Type"
            return {"field": field, "location": location,
                    "message": f"request body: expected JSON (Content-Type: application/json), but it was sent as {sent}; "
                               f"send a JSON object such as {example}"}
        return {"field": field, "location": location,
                "message": f"request body: expected a JSON object such as {example}, got {_kind(value)}"}
    expected = _expected(err)
    if expected:
        got = _got(err, kind)
        return {"field": field, "location": location, "message": f"{field}: expected {expected}{got}"}
    # A type without a sentence of its own (a custom validator's ValueError): pydantic's words, lower-cased.
    message = str(err.get("msg", "not valid")).removeprefix("Value error, ")
    return {"field": field, "location": location, "message": f"{field}: {message[:1].lower()}{message[1:]}"}


def _got(err: dict, kind: str) -> str:
    if "input" not in err:
        return ""
    value = err["input"]
    if kind in ("string_too_long", "string_too_short") and isinstance(value, str):
        return ", got an empty string" if not value else f", got one of {_plural(len(value), 'character')}"
    if kind in ("too_long", "too_short") and isinstance(value, (list, tuple)):
        return f", got {_plural(len(value), 'item')}"
    if kind == "int_from_float" or (kind in ("int_parsing", "float_parsing", "bool_parsing") and isinstance(value, str)):
        return f", got {json.dumps(value) if isinstance(value, str) else value}"
    return f", got {_kind(value)}"


def describe_json_error(document: str, position: int, reason: str) -> dict:
    """A JSON syntax error as a sentence with line and column (both counted from 1)."""
    before = document[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    words = next((text for prefix, text in _JSON_REASONS.items() if reason.startswith(prefix)), reason[:1].lower() + reason[1:])
    return {"field": "request body", "location": "body",
            "message": f"request body: not valid JSON at line {line}, column {column}: {words}"}


def describe_unreadable_body(body: bytes | None) -> dict:
    """Why a body the JSON parser gave up on could not be read: nested too deeply, or not UTF-8."""
    message = "request body: could not be read as JSON"
    if body:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"request body: not UTF-8 text (byte {exc.start + 1} cannot be read); send JSON in UTF-8"
        else:
            try:
                json.loads(body)
            except RecursionError:
                message = "request body: JSON nested too deeply (lists or objects inside each other hundreds of levels deep)"
            except ValueError:
                pass
    return {"field": "request body", "location": "body", "message": message}


def describe_validation(errors: list[dict], body: Any = None, content_type: str = "", route=None) -> tuple[str, list[dict]]:
    """(message, details) for a list of pydantic/FastAPI errors; `route` gives the example body."""
    example = body_example(route) if route is not None else BODY_EXAMPLE
    details = []
    for err in errors:
        if err.get("type") == "json_invalid":
            loc = tuple(err.get("loc", ()))
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
            document = body if isinstance(body, str) else (body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else "")
            details.append(describe_json_error(document, position, str((err.get("ctx") or {}).get("error", ""))))
        else:
            details.append(describe_error(err, content_type, example))
    if not details:
        return "The request is not valid.", []
    shown = [d["message"] for d in details[:MAX_SHOWN]]
    message = "; ".join(shown)
    if len(details) > MAX_SHOWN:
        message += f"; and {len(details) - MAX_SHOWN} more (see details)"
    return message + ".", details
