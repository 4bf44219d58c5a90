"""User content (post bodies are HTML from the sources) made safe to display, with nh3.

Scripts, styles, event handlers, `javascript:` links, images and iframes never survive:
what remains is text formatting and links that open safely. Jinja's autoescaping
covers everything else; only the output of these functions is marked safe.
"""

from __future__ import annotations

import html

import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "span",
    "sup",
    "sub",
    "kbd",
    "dl",
    "dt",
    "dd",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": {"colspan"}}
URL_SCHEMES = {"http", "https", "mailto"}


def safe_html(text: str | None) -> Markup:
    """The body as sanitized HTML (formatting and safe links only)."""
    if not text:
        return Markup("")
    return Markup(
        nh3.clean(
            text,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


def plain_text(text: str | None, limit: int | None = 240) -> str:
    """The body as plain text (no markup at all), cut to `limit` characters; Jinja escapes it."""
    if not text:
        return ""
    plain = html.unescape(nh3.clean(text, tags=set(), strip_comments=True))
    plain = " ".join(plain.split())
    if limit is not None and len(plain) > limit:
        plain = plain[: limit - 1].rstrip() + "…"
    return plain
