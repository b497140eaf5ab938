"""Server-rendered pages: one Jinja2 environment with autoescaping on for every template and every string.

Text from checked sites (page addresses, snippets, titles) is hostile by assumption. Autoescaping keeps it text;
`visible` also shows invisible direction controls as marks, so a right-to-left override cannot turn a snippet
or an address around on screen; `safe_href` lets a link through only when it is an ordinary http(s) address.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from app import __version__
from app.invisible import INVISIBLE

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"



def visible(value: object) -> Markup:
    """Escaped text with invisible characters (the same set page strings are cleaned of: direction controls,
    zero-width and other format characters, controls) shown as marks such as [U+202E]."""
    text = str(value if value is not None else "")
    parts = []
    last = 0
    for m in INVISIBLE.finditer(text):
        parts.append(escape(text[last : m.start()]))
        parts.append(Markup('<span class="control-mark" title="invisible control character">[U+{:04X}]</span>').format(ord(m.group())))
        last = m.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


_INLINE_CODE = re.compile(r"`([^`]+)`")


def inline_code(value: object) -> Markup:
    """Route descriptions written for OpenAPI mark code with backticks, as Markdown does; here they become <code>.

    The whole text is escaped first and the markup added after, so a description can never bring its own tags;
    a lone backtick stays as it is.
    """
    escaped = str(escape(str(value if value is not None else "")))
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", escaped))


def safe_href(value: object) -> str | None:
    """The address if a browser may follow it as a plain web link, otherwise None (shown as text instead)."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    if INVISIBLE.search(value) or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every template, whatever its file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.filters["safe_href"] = safe_href
    env.filters["inline_code"] = inline_code
    env.globals["version"] = __version__
    return env


environment = _build_environment()


def render(request: Request | None, template: str, status_code: int = 200, headers: dict | None = None, **context) -> HTMLResponse:
    context.setdefault("page_title", "pharmacheck")
    context.setdefault("noindex", False)
    html = environment.get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    return response
