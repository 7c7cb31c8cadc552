"""A catalogue in Chinese (a script written without spaces) is searchable lexically: the import
indexes the segmented words of titles and descriptions, a query is cut the same way, typo
correction leaves Chinese alone, and CATALOG_LANGUAGE decides (``en`` turns it off)."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command

from catalog.models import Product
from catalog.segmentation import bigrams, document_words, has_unspaced, segment
from catalog.services.imports import products_import_objects
from recommend.engine.spelling import SpellCorrector
from recommend.serving.retrievers import PostgresLexicalIndex

pytestmark = pytest.mark.django_db

CATALOGUE = [
    ("zh-1", "红色连衣裙夏季新款", "轻薄透气的雪纺连衣裙，适合夏天穿。"),
    ("zh-2", "蓝牙无线耳机降噪", "主动降噪，续航三十小时。"),
    ("zh-3", "男士跑步鞋", "轻便缓震跑鞋，适合日常训练。"),
    ("zh-4", "不锈钢保温杯", "保温十二小时，容量五百毫升。"),
    ("zh-5", "儿童蓝牙耳机", "音量限制，保护孩子听力。"),
    ("en-1", "Red summer dress", "A light chiffon dress."),
]


@pytest.fixture
def chinese_store():
    report = products_import_objects(
        objects=[
            {"external_id": e, "title": t, "description": d, "price": "99.00", "active": True}
            for e, t, d in CATALOGUE
        ]
    )
    assert not report.errors
    return {p.external_id: p.pk for p in Product.objects.all()}


def found(query: str, k: int = 10) -> list[str]:
    strict, partial = PostgresLexicalIndex().search_split(query, k)
    ids = [pk for pk, _score in strict + partial]
    by_pk = dict(Product.objects.values_list("pk", "external_id"))
    return [by_pk[pk] for pk in ids]


def test_segmentation_cuts_unspaced_runs_only():
    assert has_unspaced("红色连衣裙") and not has_unspaced("red dress 4k")
    assert segment("红色连衣裙 size M") == "红色 连衣裙 size M"
    assert segment("red dress") == "red dress"
    assert segment("红色连衣裙", language="en") == "红色连衣裙"
    assert bigrams("ワンピース") == ["ワン", "ンピ", "ピー", "ース"]
    assert segment("ワンピース", language="auto") == "ワン ンピ ピー ース"
    # a document's cut yields the shorter dictionary words of a long word too
    assert {"连衣裙", "红色"} <= set(document_words("红色连衣裙夏季新款").split())
    with pytest.raises(ValueError, match="unknown catalogue language"):
        segment("红色", language="xx")


def test_a_chinese_catalogue_is_found_by_chinese_queries(chinese_store):
    assert found("连衣裙")[0] == "zh-1"
    assert set(found("蓝牙耳机")[:2]) == {"zh-2", "zh-5"}
    assert found("跑步鞋")[0] == "zh-3"
    assert found("保温杯")[0] == "zh-4"
    assert found("降噪耳机")[0] == "zh-2"  # both words in the title
    assert found("dress")[0] == "en-1"  # Latin text is stemmed as before
    assert found("雪纺")[0] == "zh-1"  # a word of the description only


def test_without_segmentation_nothing_is_found(chinese_store, settings):
    settings.CATALOG_LANGUAGE = "en"
    call_command("reindex_search_text")
    assert found("连衣裙") == []
    settings.CATALOG_LANGUAGE = "auto"
    call_command("reindex_search_text")
    assert found("连衣裙")[0] == "zh-1"


def test_typo_correction_leaves_chinese_alone():
    corrector = SpellCorrector.from_texts(["红色连衣裙 夏季新款", "running shoes"])
    assert corrector.correct("红色连衣群").changed is False
    assert corrector.correct("runnnig shoes").corrected == "running shoes"


def test_an_unknown_language_setting_is_a_clear_startup_error(settings):
    settings.CATALOG_LANGUAGE = "klingon"
    errors = [e for e in checks.run_checks() if e.id == "catalog.E001"]
    assert errors and "klingon" in errors[0].msg
