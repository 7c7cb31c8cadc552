"""Markdown → sanitised HTML for lessons, lab instructions and forum posts.

Markdown may contain raw HTML, so the output always goes through ``nh3`` (an allow-list
sanitiser): ``<script>``, event-handler attributes, ``javascript:`` links and the like are
removed, whoever wrote the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

_COMMON_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
    "sup",
    "sub",
    "kbd",
}
LESSON_TAGS = _COMMON_TAGS | {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "dl",
    "dt",
    "dd",
    "abbr",
    "div",
    "span",
}
POST_TAGS = _COMMON_TAGS | {
    "h3",
    "h4",
}  # no images (tracking pixels) or page-level headings in posts
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
URL_SCHEMES = {"http", "https", "mailto"}


_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+\S")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _blank_line_before_lists(text: str) -> str:
    """Python-Markdown reads a list that follows a paragraph line directly ("choose:\n- kind")
    as more paragraph text, and the items render inline. Authors (and CommonMark) expect a list:
    insert the blank line it needs, outside fenced code."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif (
            not fenced
            and _LIST_ITEM.match(line)
            and out
            and out[-1].strip()
            and not _LIST_ITEM.match(out[-1])
            and not out[-1].startswith((" ", "\t"))
        ):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _markdown(text: str) -> str:
    return markdown.markdown(
        _blank_line_before_lists(text),
        extensions=["fenced_code", "tables", "sane_lists", "toc"],
        extension_configs={"toc": {"permalink": False}},
        output_format="html",
    )


@lru_cache(maxsize=512)
def _render(text: str, tags: frozenset[str]) -> str:
    html = _markdown(text)
    return nh3.clean(
        html,
        tags=set(tags),
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> SafeString:
    """Lesson bodies and lab instructions (written by instructors, still sanitised)."""
    return mark_safe(_render(text or "", frozenset(LESSON_TAGS)))


def render_post(text: str) -> SafeString:
    """Forum posts (written by any learner): a smaller allow-list."""
    return mark_safe(_render(text or "", frozenset(POST_TAGS)))


_H1 = re.compile(r"\A\s*#\s+(?P<title>[^\n]+)\n")


def split_leading_heading(body: str) -> tuple[str | None, str]:
    """A lesson body usually opens with ``# Title``: the page shows the title in its header,
    so return (title, rest) to avoid printing it twice."""
    match = _H1.match(body or "")
    if not match:
        return None, body or ""
    return match.group("title").strip(), body[match.end() :]


def word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*", text or ""))
