"""Word segmentation for scripts written without spaces (plain Python, no Django).

PostgreSQL's full-text parser splits words at spaces and punctuation, so a Chinese title such as
``红色连衣裙夏季新款`` is one token and a query for ``连衣裙`` never matches it. Lexical search
therefore indexes and queries such text segmented into words separated by spaces; the full-text
configuration passes the segmented CJK words through unchanged (only Latin words are stemmed),
which is what the ``simple`` configuration would do for them.

- Han (Chinese characters): ``jieba`` (its dictionary ships in its wheel, loaded once per process
  on first use, about a second). Documents are cut "for search" (long words also yield their
  shorter dictionary words, so a query for a part finds the whole); queries are cut precisely.
- Kana (Japanese) and Thai, which jieba does not know: overlapping character bigrams, the usual
  dictionary-free fallback, on both sides.
- Hangul is written with spaces and left alone, as is every other script.

The store's language (``CATALOG_LANGUAGE``): ``auto`` (default) segments whatever runs of those
scripts a text holds; ``zh`` the same; ``ja`` uses bigrams for Han too (jieba's dictionary is
Chinese); ``en`` (or any language written with spaces) segments nothing.
"""

from __future__ import annotations

import re
import threading

LANGUAGES = ("auto", "en", "zh", "ja")

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
THAI = "\u0e00-\u0e7f"
_UNSPACED_RUN = re.compile(f"[{HAN}{KANA}{THAI}]+")
_HAN_ONLY = re.compile(f"^[{HAN}]+$")

_jieba = None
_jieba_lock = threading.Lock()


def has_unspaced(text: str) -> bool:
    """Whether ``text`` holds a run of a script written without spaces."""
    return bool(text) and _UNSPACED_RUN.search(text) is not None


def _tokenizer():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(60)  # its dictionary-loading chatter
                jieba.initialize()
                _jieba = jieba
    return _jieba


def bigrams(run: str) -> list[str]:
    """Overlapping character pairs of ``run`` (a single character stays whole)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def run_words(run: str, *, language: str = "auto", for_search: bool = False) -> list[str]:
    """The words of one run of an unspaced script."""
    if language in ("auto", "zh") and _HAN_ONLY.match(run):
        jieba = _tokenizer()
        cut = jieba.cut_for_search(run) if for_search else jieba.cut(run)
        return [w for w in (w.strip() for w in cut) if w]
    return bigrams(run)


def segment(text: str, *, language: str = "auto", for_search: bool = False) -> str:
    """``text`` with each run of an unspaced script replaced by its words, separated by spaces
    (everything else unchanged). ``for_search``: a document's cut (sub-words too)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown catalogue language {language!r}; one of {', '.join(LANGUAGES)}")
    if language == "en" or not has_unspaced(text):
        return text
    cut = _UNSPACED_RUN.sub(
        lambda m: (
            " " + " ".join(run_words(m.group(0), language=language, for_search=for_search)) + " "
        ),
        text,
    )
    return " ".join(cut.split())


def document_words(text: str, *, language: str = "auto", limit: int = 4000) -> str:
    """The words of the unspaced runs of a document's text (its first ``limit`` characters),
    space-separated: what the full-text column indexes besides the text itself. Empty when the
    text has none."""
    if language == "en" or not has_unspaced(text):
        return ""
    words: list[str] = []
    for m in _UNSPACED_RUN.finditer(text[:limit]):
        words.extend(run_words(m.group(0), language=language, for_search=True))
    return " ".join(words)
