"""Pages and their fragments: htmx asks for a named block of a page, browsers get the page.

A request that carries `HX-Request` (and is not a boosted page load, `HX-Boosted`) is answered
with one block of the page's template, rendered with the same context as the whole page; every
other request gets the whole page. Without JavaScript nothing changes.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request


def wants_fragment() -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def render_page(template_name: str, fragment: str, **context: Any) -> str:
    """The whole page, or only its block `fragment` when htmx asks for it."""
    if not wants_fragment():
        return render_template(template_name, **context)
    template = current_app.jinja_env.get_or_select_template(template_name)
    current_app.update_template_context(context)
    return "".join(template.blocks[fragment](template.new_context(context)))
