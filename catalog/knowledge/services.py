"""Writes of the knowledge base: imports (the catalogue's row-error contract) and passages.

An import validates every row (all of a row's problems reported together, by file line or
batch index), rejects the file unless ``skip_invalid``, writes the rows so that a value the
database refuses rejects only its own row (``catalog.services.rows``), records an
``ImportRun`` and rebuilds the passages of what changed. Vectors are written by the
``embed_knowledge`` job (and whenever a retriever is embedded).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.formats.reading import (
    FileFormatError,
    ParsedFile,
    RowError,
    SourceRow,
    detect_format,
    read_rows,
)
from catalog.formats.values import storable
from catalog.knowledge import records
from catalog.knowledge.logic.chunking import chunk_article, chunk_question, read_markdown_articles
from catalog.knowledge.models import (
    AnswerSummary,
    Article,
    Passage,
    ProductQuestion,
    SupportLabel,
)
from catalog.models import ImportRun, Product
from catalog.segmentation import document_words
from catalog.services.report import ImportReport, record_run
from catalog.services.rows import (
    RolledBack,
    finish_validation,
    reject_refused,
    validate,
    write_isolating,
)

ARTICLE_FIELDS = ("title", "body", "kind", "category", "source", "updated", "active")
QA_FIELDS = ("product_id", "question", "answer", "source", "updated", "active")


def _read(source: str | Path | bytes | IO, fmt: str) -> ParsedFile:
    if fmt != "markdown":
        return read_rows(source, fmt=fmt)
    if isinstance(source, (str, Path)):
        raw: bytes | str = Path(source).read_bytes()
    elif isinstance(source, bytes):
        raw = source
    else:
        raw = source.read()
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"The file is not UTF-8 text (byte {exc.start}).") from None
    articles = read_markdown_articles(text)
    if not articles:
        raise FileFormatError("No article found: each article starts with a '# Title' line.")
    columns = list(dict.fromkeys(k for a in articles for k in a.data))
    return ParsedFile(columns=columns, rows=[SourceRow(data=a.data, line=a.line) for a in articles])


def _check_columns(kind: str, parsed: ParsedFile, fmt: str) -> list[str]:
    present = set(parsed.columns)
    required = records.required_columns(kind)
    if fmt == "markdown":  # a Markdown article may take its id from its title
        required = [c for c in required if c != "external_id"]
    missing = [c for c in required if c not in present]
    if missing and parsed.columns:
        raise FileFormatError(
            f"Missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"The {kind} columns are: {', '.join(records.column_names(kind))}."
        )
    unknown = [c for c in parsed.columns if c not in records.column_names(kind)]
    return [f"Unknown columns ignored: {storable(', '.join(unknown))}."] if unknown else []


def _slug(title: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in title.lower()).split()
    return "-".join(words)[:128] or "article"


def knowledge_import_file(
    *,
    kind: str,
    source: str | Path | bytes | IO,
    fmt: str | None = None,
    filename: str = "",
    skip_invalid: bool = False,
    user=None,
    origin: str = "command",
) -> ImportReport:
    """Import articles (CSV, JSON Lines or Markdown) or product Q&A (CSV, JSON Lines)."""
    if kind not in records.KINDS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(records.KINDS)}.")
    filename = filename or (
        str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "") or ""
    )
    if fmt is None:
        fmt = "markdown" if filename.lower().endswith((".md", ".markdown")) else None
        fmt = fmt or detect_format(filename)
    started = time.monotonic()
    report = ImportReport(
        kind=f"kb_{kind}"[:16],
        source=origin,
        filename=storable(Path(filename).name) if filename else "",
    )
    try:
        if fmt == "markdown" and kind != "articles":
            raise FileFormatError(
                "Markdown files hold articles; import product Q&A as CSV or JSONL."
            )
        parsed = _read(source, fmt)
        report.warnings += _check_columns(kind, parsed, fmt)
    except FileFormatError as exc:
        report.status, report.fatal = ImportRun.Status.FAILED, str(exc)
        report.duration_seconds = time.monotonic() - started
        record_run(report, user=user)
        return report
    if fmt == "markdown":
        for row in parsed.rows:
            row.data.setdefault("external_id", _slug(str(row.data.get("title", ""))))
    knowledge_import_rows(
        report, kind=kind, rows=parsed.rows, read_errors=parsed.errors, skip_invalid=skip_invalid
    )
    report.duration_seconds = time.monotonic() - started
    record_run(report, user=user)
    return report


def knowledge_import_rows(
    report: ImportReport,
    *,
    kind: str,
    rows: list[SourceRow],
    read_errors: list[RowError],
    skip_invalid: bool,
) -> None:
    """Validate and write rows of ``kind``; fills ``report`` (status, counts, row errors)."""
    products: dict[str, int] = {}
    if kind == "product_qa":
        wanted = {r.data.get("product") for r in rows if isinstance(r.data.get("product"), str)}
        products = dict(
            Product.objects.filter(external_id__in=wanted).values_list("external_id", "pk")
        )

    def unknown_product(clean: dict) -> list[tuple[str, str]]:
        ref = clean.get("product")
        if ref and ref not in products:
            return [("product", f"unknown product {ref!r} (import products first)")]
        return []

    cleaner = records.clean_article if kind == "articles" else records.clean_product_question
    references = unknown_product if kind == "product_qa" else None
    resolved, errors = validate(rows, read_errors, cleaner, references)
    if not finish_validation(
        report, rows=rows, read_errors=read_errors, errors=errors, skip_invalid=skip_invalid
    ):
        return
    changed: list[int] = []

    def write(values: list[dict]) -> None:
        if kind == "articles":
            changed.extend(_articles_write(report, values))
        else:
            for value in values:
                value["product_id"] = products[value.pop("product")]
            changed.extend(_questions_write(report, values))

    refused: list[RowError] = []
    try:
        with transaction.atomic():
            refused = write_isolating(report, resolved, write)
            if refused and not skip_invalid:
                raise RolledBack
            if kind == "articles":
                passages_rebuild(article_ids=changed)
            else:
                passages_rebuild(question_ids=changed)
    except RolledBack:
        pass
    if refused:
        reject_refused(report, refused, skip_invalid=skip_invalid)


def _upsert(report: ImportReport, model, values: list[dict], fields: tuple[str, ...]) -> list[int]:
    """Create or update rows by external id; returns the ids whose content changed."""
    existing = {
        o.external_id: o
        for o in model.objects.filter(external_id__in=[v["external_id"] for v in values])
    }
    changed: list[int] = []
    now = timezone.now()
    for value in values:
        current = existing.get(value["external_id"])
        if current is None:
            values_in = {k: value[k] for k in ("external_id", *fields) if k in value}
            values_in.setdefault("updated", now)  # a row without "updated": first seen now
            obj = model.objects.create(**values_in)
            report.created += 1
            changed.append(obj.pk)
            continue
        differs = [f for f in fields if f in value and getattr(current, f) != value[f]]
        if not differs:
            report.unchanged += 1
            continue
        for f in differs:
            setattr(current, f, value[f])
        current.save(update_fields=[*differs, "modified_at"])
        report.updated += 1
        changed.append(current.pk)
    return changed


def _articles_write(report: ImportReport, values: list[dict]) -> list[int]:
    return _upsert(report, Article, values, ARTICLE_FIELDS)


def _questions_write(report: ImportReport, values: list[dict]) -> list[int]:
    return _upsert(report, ProductQuestion, values, QA_FIELDS)


def passages_rebuild(
    *, article_ids: Iterable[int] | None = None, question_ids: Iterable[int] | None = None
) -> int:
    """Cut the given articles and Q&A pairs (both None: all of them) into passages again;
    inactive ones keep none. Returns the passages written."""
    articles = Article.objects.all()
    questions = ProductQuestion.objects.select_related("product")
    if article_ids is not None or question_ids is not None:
        articles = articles.filter(pk__in=list(article_ids or []))
        questions = questions.filter(pk__in=list(question_ids or []))
    rows: list[Passage] = []
    with transaction.atomic():
        Passage.objects.filter(article__in=articles).delete()
        Passage.objects.filter(product_question__in=questions).delete()
        for article in articles.filter(active=True):
            for chunk in chunk_article(article.title, article.body):
                rows.append(
                    Passage(
                        article=article,
                        position=chunk.position,
                        heading=chunk.heading[:600],
                        text=chunk.text,
                        category=article.category,
                        text_hash=chunk.text_hash,
                        search_text=passage_search_text(chunk.heading, chunk.text),
                    )
                )
        for question in questions.filter(active=True, product__active=True):
            for chunk in chunk_question(question.question, question.answer, question.product.title):
                rows.append(
                    Passage(
                        product_question=question,
                        position=chunk.position,
                        heading=chunk.heading[:600],
                        text=chunk.text,
                        category="product_question",
                        text_hash=chunk.text_hash,
                        search_text=passage_search_text(chunk.heading, chunk.text),
                    )
                )
        Passage.objects.bulk_create(rows, batch_size=1000)
        # Summaries written ahead cite passages by id: the rebuilt ones have new ids.
        AnswerSummary.objects.all().delete()
    return len(rows)


def passage_search_text(heading: str, text: str) -> str:
    """The segmented words of a passage's text in scripts without spaces (empty when none)."""
    return document_words(f"{heading}\n{text}", language=settings.CATALOG_LANGUAGE, limit=20000)


def passages_refresh_search_text() -> tuple[str, int]:
    """Rebuild every passage's ``search_text`` (``manage.py reindex_search_text``, after a
    change of ``CATALOG_LANGUAGE``); returns how many changed. Vectors are not touched."""
    changed = []
    for passage in Passage.objects.only("id", "heading", "text", "search_text"):
        words = passage_search_text(passage.heading, passage.text)
        if words != passage.search_text:
            passage.search_text = words
            changed.append(passage)
    Passage.objects.bulk_update(changed, ["search_text"], batch_size=1000)
    return "knowledge-base passage(s)", len(changed)


def knowledge_demo_write(store, shift: timedelta) -> dict[str, int]:
    """Write the demo store's knowledge base (planting ``knowledge``), replacing the one there
    (a demo store is loaded into an empty or replaced catalogue), and cut it into passages.
    Registered with ``catalog.import_hooks`` by this app's ``ready()``."""
    part = store.extras.get("knowledge") if hasattr(store, "extras") else None
    if not isinstance(part, dict):
        return {}
    with transaction.atomic():
        Passage.objects.all().delete()
        ProductQuestion.objects.all().delete()
        Article.objects.all().delete()
        Article.objects.bulk_create(
            [
                Article(
                    external_id=a["external_id"],
                    title=a["title"],
                    body=a["body"],
                    kind=a["kind"],
                    category=a["category"],
                    source=a.get("source", ""),
                    updated=a["updated"] + shift,
                )
                for a in part.get("articles", ())
            ]
        )
        products = dict(
            Product.objects.filter(
                external_id__in=[q["product"] for q in part.get("product_qa", ())]
            ).values_list("external_id", "pk")
        )
        ProductQuestion.objects.bulk_create(
            [
                ProductQuestion(
                    external_id=q["external_id"],
                    product_id=products[q["product"]],
                    question=q["question"],
                    answer=q["answer"],
                    source=q.get("source", ""),
                    updated=q["updated"] + shift,
                )
                for q in part.get("product_qa", ())
                if q["product"] in products
            ]
        )
        passages = passages_rebuild()
    return {
        "kb_articles": Article.objects.count(),
        "kb_product_qa": ProductQuestion.objects.count(),
        "kb_passages": passages,
    }


def support_label_save(*, label: SupportLabel, user=None) -> SupportLabel:
    """Save an operator's support label, its question normalised as serving normalises one."""
    from recommend.engine.text import normalise

    label.query = normalise(label.query, 500)
    label.user = user
    label.save()
    return label
