"""Chunking and Markdown reading of the knowledge base (plain Python, no database)."""

from __future__ import annotations

import pytest

from catalog.knowledge.logic.chunking import (
    chunk_article,
    chunk_question,
    embedding_text,
    read_markdown_articles,
)


def test_an_article_is_cut_at_its_headings_and_keeps_the_heading_path():
    body = "Intro text.\n\n## Return window\nThirty days.\n\n### Exceptions\nNot food.\n\n## Refunds\nFive days."
    chunks = chunk_article("Returns", body)
    assert [c.heading for c in chunks] == [
        "Returns",
        "Returns > Return window",
        "Returns > Return window > Exceptions",
        "Returns > Refunds",
    ]
    assert [c.text for c in chunks] == ["Intro text.", "Thirty days.", "Not food.", "Five days."]
    assert [c.position for c in chunks] == [0, 1, 2, 3]


def test_a_long_section_is_cut_at_sentences_with_overlap():
    sentences = " ".join(f"Sentence number {i} ends here." for i in range(60))  # 300 words
    chunks = chunk_article("Long", sentences, max_words=100, overlap=10)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert len(chunk.text.split()) <= 110
    # every sentence is somewhere, and the overlap repeats the end of the previous passage
    joined = " ".join(c.text for c in chunks)
    for i in range(60):
        assert f"number {i} ends" in joined
    first_tail = chunks[0].text.split()[-10:]
    assert chunks[1].text.split()[:10] == first_tail


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        chunk_article("t", "b", max_words=10, overlap=10)


def test_a_product_question_is_one_passage_under_the_product_title():
    [chunk] = chunk_question(" Is it waterproof? ", "Yes, to 50 m.", "Diver watch")
    assert chunk.heading == "Diver watch > Is it waterproof?"
    assert (
        embedding_text(chunk.heading, chunk.text)
        == "Diver watch > Is it waterproof?: Yes, to 50 m."
    )
    assert chunk.text_hash != chunk_question("Is it waterproof?", "No.", "Diver watch")[0].text_hash


def test_markdown_articles_start_at_level_one_headings_with_fields():
    text = (
        "Preamble is ignored.\n"
        "# Returns policy\n"
        "category: returns\n"
        "external_id: returns\n"
        "\n"
        "You have 30 days.\n"
        "## Refunds\n"
        "Five days.\n"
        "# Shipping\n"
        "Two to four days.\n"
    )
    first, second = read_markdown_articles(text)
    assert first.line == 2
    assert first.data == {
        "title": "Returns policy",
        "category": "returns",
        "external_id": "returns",
        "body": "You have 30 days.\n## Refunds\nFive days.",
    }
    assert second.line == 9
    assert second.data == {"title": "Shipping", "body": "Two to four days."}
