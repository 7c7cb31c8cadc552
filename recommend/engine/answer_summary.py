"""A generated summary of the answers to a support question, always with citations (plain Python).

The generator (the one shared setting, ``AISLE_GENERATOR_MODEL``) gets the question and the
passages the answers search found, numbered ``[1]`` … ``[n]``, and is asked to answer from them
alone, citing them by number. What it writes is kept only when it holds:

- at least one passage to answer from: no passage means no summary (``no_passages``). The
  generator is never asked to answer from its own knowledge;
- at least one citation of a passage it was given: a summary that cites none is dropped
  (``no_citation``), and so is one that cites a number it was not given (``bad_citation``);
- an answer within the time budget: generation runs on one background thread per process and
  the request waits at most ``timeout_s`` (``timeout``). While an earlier generation still runs,
  a request does not queue behind it (``busy``).

The kept text is its first paragraph, at most :data:`MAX_SENTENCES` sentences.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

MAX_SENTENCES = 3
PASSAGE_CHARS = 600
CITATION_RE = re.compile(r"\[(\d{1,2})\]")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")

PROMPT = (
    "Answer the customer's question using only the numbered passages. Cite the passages you use "
    "by their number in square brackets, like [1].\n\n{passages}\n\nQuestion: {question}\nAnswer:"
)

Generate = Callable[[str], str]


@dataclass(frozen=True)
class Passage:
    """One passage offered to the generator: its id (what a citation resolves to) and text."""

    id: int
    heading: str
    text: str


@dataclass
class Summary:
    """The outcome: ``status`` (``ok`` or why there is no text), the text and the cited
    passages' ids, in the order first cited."""

    status: str
    text: str = ""
    citations: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"status": self.status, "text": self.text, "citations": self.citations}


def prompt(question: str, passages: Sequence[Passage]) -> str:
    numbered = "\n".join(
        f"[{n}] {p.heading}: {p.text[:PASSAGE_CHARS]}" for n, p in enumerate(passages, 1)
    )
    return PROMPT.format(passages=numbered, question=question.strip())


def checked(generated: str, passages: Sequence[Passage]) -> Summary:
    """Keep ``generated`` only when it cites the passages it was given (module docstring)."""
    paragraph = generated.strip().split("\n\n")[0].replace("\n", " ").strip()
    sentences = [s for s in SENTENCE_RE.split(paragraph) if s.strip()]
    text = " ".join(sentences[:MAX_SENTENCES]).strip()
    numbers = [int(n) for n in CITATION_RE.findall(text)]
    if not numbers:
        return Summary("no_citation")
    if any(n < 1 or n > len(passages) for n in numbers):
        return Summary("bad_citation")
    cited = list(dict.fromkeys(passages[n - 1].id for n in numbers))
    return Summary("ok", text, cited)


class Summariser:
    """Generation with a time budget on one background thread (one per process)."""

    def __init__(self, generate: Generate):
        self._generate = generate
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer-summary")
        self._busy = threading.Lock()

    def summarise(self, question: str, passages: Sequence[Passage], *, timeout_s: float) -> Summary:
        if not passages:
            return Summary("no_passages")
        if not self._busy.acquire(blocking=False):
            return Summary("busy")
        try:
            future = self._pool.submit(self._generate, prompt(question, passages))
        except BaseException:
            self._busy.release()
            raise
        future.add_done_callback(lambda _f: self._busy.release())
        try:
            generated = future.result(timeout=timeout_s)
        except FutureTimeout:
            return Summary("timeout")
        return checked(generated, passages)
