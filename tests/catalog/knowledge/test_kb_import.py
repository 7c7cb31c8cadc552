"""Knowledge-base imports follow the catalogue's row-error contract: every problem of a row
reported with its line, the file rejected unless skip_invalid, and passages rebuilt."""

from __future__ import annotations

import json

import pytest

from catalog.knowledge.models import Article, Passage, ProductQuestion
from catalog.knowledge.services import knowledge_import_file
from catalog.models import ImportRun
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

ARTICLES_CSV = (
    "external_id,title,body,kind,category,updated\n"
    "returns,Returns,You have 30 days to return items.,policy,returns,2026-01-01T00:00:00Z\n"
    "bad,,no title here,poem,refunds,yesterday\n"
    "shipping,Shipping,Delivery takes 2 days.,faq,shipping,\n"
    "returns,Returns again,Duplicate id.,faq,returns,\n"
)


def test_invalid_rows_reject_the_file_with_every_problem_by_line():
    report = knowledge_import_file(
        kind="articles", source=ARTICLES_CSV.encode(), fmt="csv", filename="kb.csv"
    )
    assert report.status == ImportRun.Status.REJECTED
    assert not Article.objects.exists() and not Passage.objects.exists()
    problems = {(e.line, e.field) for e in report.errors}
    assert {(3, "title"), (3, "kind"), (3, "category"), (3, "updated")} <= problems
    assert (5, "external_id") in problems  # the repeated id
    assert report.rejected == 2 and report.total_rows == 4
    run = ImportRun.objects.get(pk=report.import_run_id)
    assert run.kind == "kb_articles" and run.status == ImportRun.Status.REJECTED
    assert any(e["line"] == 3 and e["field"] == "category" for e in run.errors)


def test_skip_invalid_imports_the_valid_rows_and_cuts_them_into_passages():
    report = knowledge_import_file(
        kind="articles", source=ARTICLES_CSV.encode(), fmt="csv", skip_invalid=True
    )
    assert report.status == ImportRun.Status.PARTIAL
    assert report.created == 2 and report.rejected == 2
    assert set(Article.objects.values_list("external_id", flat=True)) == {"returns", "shipping"}
    returns = Passage.objects.get(article__external_id="returns")
    assert returns.category == "returns" and "30 days" in returns.text
    # importing the same file again changes nothing; a changed body re-cuts its passages
    again = knowledge_import_file(
        kind="articles", source=ARTICLES_CSV.encode(), fmt="csv", skip_invalid=True
    )
    assert again.unchanged == 2 and again.created == 0
    changed = ARTICLES_CSV.replace("30 days", "60 days")
    third = knowledge_import_file(
        kind="articles", source=changed.encode(), fmt="csv", skip_invalid=True
    )
    assert third.updated == 1
    assert "60 days" in Passage.objects.get(article__external_id="returns").text


def test_product_questions_need_a_known_product_and_jsonl_reports_lines():
    ProductFactory(external_id="p1", title="Trail shoe")
    lines = [
        {"external_id": "q1", "product": "p1", "question": "Is it waterproof?", "answer": "Yes."},
        {"external_id": "q2", "product": "nope", "question": "Size?", "answer": "EU."},
        {"external_id": "q3", "product": "p1", "question": "", "answer": "x"},
    ]
    source = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    report = knowledge_import_file(kind="product_qa", source=source.encode(), fmt="jsonl")
    assert report.status == ImportRun.Status.REJECTED
    errors = {(e.line, e.field): e.reason for e in report.errors}
    assert "unknown product 'nope'" in errors[(2, "product")]
    assert (3, "question") in errors
    assert (4, "") in errors  # not a JSON object at all
    assert not ProductQuestion.objects.exists()
    report = knowledge_import_file(
        kind="product_qa", source=source.encode(), fmt="jsonl", skip_invalid=True
    )
    assert report.created == 1
    passage = Passage.objects.get(product_question__external_id="q1")
    assert passage.heading == "Trail shoe > Is it waterproof?"
    assert passage.category == "product_question"


def test_markdown_files_import_articles_with_ids_from_titles():
    text = (
        "# Payment methods\ncategory: payment\n\nWe take cards and PayPal.\n\n"
        "# Gift cards\ncategory: vouchers\n\nValid three years.\n"
    )
    report = knowledge_import_file(kind="articles", source=text.encode(), filename="help.md")
    assert report.status == ImportRun.Status.REJECTED
    assert [(e.line, e.field) for e in report.errors] == [(6, "category")]
    report = knowledge_import_file(
        kind="articles", source=text.encode(), filename="help.md", skip_invalid=True
    )
    article = Article.objects.get()
    assert (article.external_id, article.category) == ("payment-methods", "payment")


def test_a_file_missing_a_required_column_fails_as_a_whole():
    report = knowledge_import_file(
        kind="articles", source=b"external_id,title\nx,y\n", fmt="csv", filename="kb.csv"
    )
    assert report.status == ImportRun.Status.FAILED
    assert "Missing required column: body" in report.fatal


def test_the_import_knowledge_command_reports_row_errors_and_exits_1(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = tmp_path / "kb.csv"
    path.write_text(ARTICLES_CSV, encoding="utf-8")
    with pytest.raises(CommandError) as stopped:
        call_command("import_knowledge", str(path))
    assert stopped.value.returncode == 1
    assert not Article.objects.exists()
    call_command("import_knowledge", str(path), "--skip-invalid")
    assert Article.objects.count() == 2
