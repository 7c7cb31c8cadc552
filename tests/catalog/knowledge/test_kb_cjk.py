"""A knowledge base in Chinese is searchable lexically: passages index the segmented words of
their heading and text (``search_text``, the ``simple`` configuration), a question is cut the
same way, and ``reindex_search_text`` rebuilds them after CATALOG_LANGUAGE changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from catalog.knowledge.models import Passage
from catalog.knowledge.selectors import passage_rows, passages_bm25
from catalog.knowledge.services import knowledge_import_file

pytestmark = pytest.mark.django_db

KB = """\
# 退货和退款
external_id: zh-returns
category: returns

收到商品后三十天内可以申请退货，商品需保持未使用状态并带有原包装。退款将在仓库收到包裹后五个工作日内退回原支付方式。

# 配送时间和运费
external_id: zh-shipping
category: shipping

标准配送需要两到四个工作日，订单满四十九元免运费。快递订单中午前下单，次日送达。

# 支付方式
external_id: zh-payment
category: payment

我们接受银行卡、支付宝和微信支付。老客户可以使用发票支付。

# 忘记密码
external_id: zh-password
category: account

在登录页面点击忘记密码，输入您的邮箱地址，我们会发送重置链接。
"""


def top_source(question: str) -> str | None:
    found = passages_bm25(question, 5)
    if not found:
        return None
    return passage_rows([found[0][0]])[found[0][0]].source_id


@pytest.fixture
def chinese_kb(settings):
    settings.CATALOG_LANGUAGE = "zh"
    report = knowledge_import_file(kind="articles", source=KB.encode(), filename="help.md")
    assert report.ok, report.errors
    assert Passage.objects.count() == 4


def test_a_chinese_question_finds_its_passage_lexically(chinese_kb):
    assert top_source("怎么退货") == "zh-returns"
    assert top_source("运费多少") == "zh-shipping"
    assert top_source("可以用支付宝吗") == "zh-payment"
    assert top_source("忘记密码了") == "zh-password"
    assert "退货" in Passage.objects.get(article__external_id="zh-returns").search_text.split()


def test_reindex_search_text_follows_the_language(chinese_kb, settings):
    settings.CATALOG_LANGUAGE = "en"  # a store written with spaces: nothing is segmented
    out = io.StringIO()
    call_command("reindex_search_text", stdout=out)
    assert "4 knowledge-base passage(s)" in out.getvalue()
    assert set(Passage.objects.values_list("search_text", flat=True)) == {""}
    assert top_source("怎么退货") is None
    settings.CATALOG_LANGUAGE = "zh"
    call_command("reindex_search_text", stdout=io.StringIO())
    assert top_source("怎么退货") == "zh-returns"
