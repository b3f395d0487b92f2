"""Jinja2 templates (with jinja2-fragments for htmx partials) and the pages' headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks

from shelfcam.web import formatting

# Pages load only what this server serves: no CDN, no inline script or style.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def build_templates() -> Jinja2Blocks:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shelfcam.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=formatting.duration,
        exact=formatting.exact,
        type_label=formatting.type_label,
        role_label=formatting.role_label,
        pretty_json=_pretty_json,
    )
    return Jinja2Blocks(env=env)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    block_name: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    templates: Jinja2Blocks = request.app.state.templates
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "session": None,
        "now": now,
        "relative": lambda when: formatting.relative(when, now),
        **context,
    }
    all_headers = {**PAGE_HEADERS, **(headers or {})}
    if block_name is None:
        return templates.TemplateResponse(
            request, name, values, status_code=status_code, headers=all_headers
        )
    return templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=all_headers, block_name=block_name
    )
