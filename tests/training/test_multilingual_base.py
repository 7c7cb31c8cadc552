"""A catalogue in Chinese with a multilingual encoder configured by id (here a local directory:
a tiny config-built BERT whose WordPiece vocabulary holds Chinese characters, standing in for
e.g. paraphrase-multilingual-MiniLM-L12-v2, which tests may not download): the first run's
retriever is built from DEFAULT_ENCODER, embeds the Chinese titles as distinct vectors of the
encoder's own size, and the search API answers a Chinese query with the right product first."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.models import Product
from catalog.services.imports import products_import_objects
from training import bootstrap, vectors
from training.models import ModelVersion

pytestmark = pytest.mark.django_db

TITLES = {
    "zh-1": "红色连衣裙夏季新款",
    "zh-2": "蓝牙无线耳机降噪",
    "zh-3": "男士跑步鞋",
    "zh-4": "不锈钢保温杯",
}


def test_the_first_retriever_from_a_multilingual_base_serves_chinese_queries(
    tiny_encoder, tmp_path, settings, storefront
):
    characters = sorted({c for title in TITLES.values() for c in title})
    base = tiny_encoder(tmp_path / "multilingual", characters)
    settings.DEFAULT_ENCODER = str(base)
    report = products_import_objects(
        objects=[
            {
                "external_id": e,
                "title": t,
                "description": "",
                "price": "10.00",
                "stock": 5,
                "active": True,
            }
            for e, t in TITLES.items()
        ]
    )
    assert not report.errors

    version = bootstrap.retriever_run()
    assert version is not None and version.base == str(base)
    version = ModelVersion.objects.get(pk=version.pk)
    assert version.dimension == 32  # the encoder's own size, not the packaged one's 384
    ids, matrix = vectors.load_vectors(version.pk)
    assert sorted(ids) == sorted(Product.objects.values_list("pk", flat=True))
    # the characters were in the vocabulary: four titles, four different vectors (not [UNK]s)
    sims = matrix @ matrix.T
    assert np.all(sims[~np.eye(len(ids), dtype=bool)] < 0.999)

    response = storefront.get("/api/v1/search", {"q": "跑步鞋"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"], body
    assert body["results"][0]["product"]["id"] == "zh-3"
    assert version.name == "multilingual (base, DEFAULT_ENCODER)"  # not the packaged one's name
