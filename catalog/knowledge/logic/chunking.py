"""Cutting knowledge-base texts into passages (plain Python, no Django).

A passage is the unit answers return: short enough that its vector is about one thing (the
encoder reads at most a few hundred word pieces) and long enough to answer on its own. An
article is cut at its Markdown headings; a section longer than ``max_words`` is cut at
paragraph ends, a paragraph longer than that at sentence ends, with ``overlap`` words of the
previous piece carried over so that a sentence cut in two is found from either side. Every
passage keeps the heading path it sits under, which search indexes as its title.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_WORDS = 120
OVERLAP_WORDS = 20
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    """One passage: the heading path it sits under, its text, its position in the source."""

    heading: str
    text: str
    position: int

    @property
    def text_hash(self) -> str:
        return passage_hash(self.heading, self.text)


def passage_hash(heading: str, text: str) -> str:
    """The hash of what a passage's vector is computed from (32 hex characters)."""
    return hashlib.sha256(f"{heading}\n{text}".encode()).hexdigest()[:32]


def embedding_text(heading: str, text: str) -> str:
    """What the encoder reads for a passage: its heading path, then its text."""
    return f"{heading}: {text}" if heading else text


def _sections(title: str, body: str) -> list[tuple[str, list[str]]]:
    """``(heading path, paragraphs)`` per Markdown section, in order."""
    path: list[tuple[int, str]] = []
    sections: list[tuple[str, list[str]]] = []
    current: list[str] = []
    paragraph: list[str] = []

    def heading() -> str:
        names = [title] + [name for _, name in path if name and name != title]
        return " > ".join(n for n in names if n)

    def end_paragraph() -> None:
        if paragraph:
            current.append(" ".join(paragraph))
            paragraph.clear()

    def end_section() -> None:
        end_paragraph()
        if current:
            sections.append((heading(), list(current)))
            current.clear()

    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            end_section()
            level = len(match.group(1))
            path[:] = [(lv, name) for lv, name in path if lv < level]
            path.append((level, match.group(2).strip()))
            continue
        stripped = line.strip()
        if not stripped:
            end_paragraph()
        else:
            paragraph.append(stripped)
    end_section()
    return sections


def _pieces(text: str, max_words: int) -> list[str]:
    """A paragraph as pieces of at most ``max_words`` words, cut at sentence ends where one
    falls (a sentence longer than that is cut by words)."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence_words = sentence.split()
        while len(sentence_words) > max_words:
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(sentence_words[:max_words]))
            sentence_words = sentence_words[max_words:]
        if current and len(current) + len(sentence_words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(sentence_words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_article(
    title: str, body: str, *, max_words: int = MAX_WORDS, overlap: int = OVERLAP_WORDS
) -> list[Chunk]:
    """An article's passages: one or more per section, paragraphs packed up to ``max_words``."""
    if max_words < 1 or overlap < 0 or overlap >= max_words:
        raise ValueError("need max_words >= 1 and 0 <= overlap < max_words")
    chunks: list[Chunk] = []
    for heading, paragraphs in _sections(title, body):
        pieces = [p for paragraph in paragraphs for p in _pieces(paragraph, max_words)]
        current: list[str] = []
        carried = 0  # words at the start of ``current`` repeated from the previous passage
        for piece in pieces:
            words = piece.split()
            if len(current) > carried and len(current) + len(words) > max_words:
                chunks.append(Chunk(heading, " ".join(current), len(chunks)))
                tail = current[-overlap:] if overlap else []
                current, carried = list(tail), len(tail)
            current.extend(words)
        if len(current) > carried:
            chunks.append(Chunk(heading, " ".join(current), len(chunks)))
    if not chunks and title.strip():
        chunks.append(Chunk(title.strip(), title.strip(), 0))
    return chunks


def chunk_question(question: str, answer: str, product_title: str) -> list[Chunk]:
    """A product Q&A pair is one passage: the question under the product's title, then the
    answer (a shopper's question is matched against both)."""
    return [Chunk(f"{product_title} > {question.strip()}", answer.strip(), 0)]


# --------------------------------------------------------------------------- Markdown files

_FIELD = re.compile(r"^([a-z_]+)\s*:\s*(.*)$")
FRONT_FIELDS = ("external_id", "kind", "category", "source", "updated", "active")


@dataclass
class MarkdownArticle:
    """One article read from a Markdown file, with the line its title is on."""

    line: int
    data: dict[str, str]


def read_markdown_articles(text: str) -> list[MarkdownArticle]:
    """Articles of a Markdown file: each starts at a level-1 heading (``# Title``), which may be
    followed by ``field: value`` lines (``external_id``, ``kind``, ``category``, ``source``,
    ``updated``, ``active``) before its body. Text before the first heading is ignored."""
    articles: list[MarkdownArticle] = []
    current: MarkdownArticle | None = None
    body: list[str] = []
    in_fields = False

    def close() -> None:
        if current is not None:
            current.data["body"] = "\n".join(body).strip()
            articles.append(current)

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# ") and not line.startswith("##"):
            close()
            current = MarkdownArticle(line=number, data={"title": line[2:].strip()})
            body = []
            in_fields = True
            continue
        if current is None:
            continue
        if in_fields:
            match = _FIELD.match(line.strip())
            if match and match.group(1) in FRONT_FIELDS:
                current.data[match.group(1)] = match.group(2).strip()
                continue
            if not line.strip() and not body:
                continue
            in_fields = False
        body.append(line)
    close()
    return articles
