"""The synthetic store of the serving benchmarks: a category tree, brands, products from a
vocabulary with vectors in MiniLM space, shoppers with events, and the queries sent to it.

Written with COPY into the benchmark's own database; see ``bench/search_latency.py``.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

ADJECTIVES = [
    "red",
    "blue",
    "black",
    "white",
    "green",
    "grey",
    "pink",
    "navy",
    "wooden",
    "steel",
    "leather",
    "cotton",
    "wool",
    "linen",
    "compact",
    "portable",
    "wireless",
    "waterproof",
    "lightweight",
    "ergonomic",
    "vintage",
    "modern",
    "classic",
    "premium",
    "organic",
    "recycled",
    "heavy",
    "slim",
    "large",
    "small",
    "soft",
    "durable",
    "foldable",
    "smart",
    "quiet",
    "fast",
    "warm",
    "cool",
    "bright",
    "matte",
]
DEPARTMENTS = {
    "electronics": [
        "headphones",
        "speaker",
        "laptop",
        "monitor",
        "keyboard",
        "mouse",
        "charger",
        "camera",
        "tablet",
        "router",
    ],
    "home": [
        "lamp",
        "chair",
        "table",
        "sofa",
        "rug",
        "curtain",
        "shelf",
        "mirror",
        "clock",
        "vase",
    ],
    "kitchen": [
        "kettle",
        "toaster",
        "blender",
        "pan",
        "knife",
        "mug",
        "grinder",
        "kettlebell",
        "bowl",
        "tray",
    ],
    "fashion": [
        "jacket",
        "sweater",
        "dress",
        "shirt",
        "jeans",
        "scarf",
        "hat",
        "belt",
        "sneakers",
        "boots",
    ],
    "sport": [
        "bike",
        "helmet",
        "yoga mat",
        "dumbbell",
        "tent",
        "backpack",
        "bottle",
        "racket",
        "ball",
        "gloves",
    ],
    "beauty": [
        "serum",
        "cream",
        "lipstick",
        "shampoo",
        "perfume",
        "brush",
        "mask",
        "lotion",
        "soap",
        "oil",
    ],
    "toys": ["puzzle", "robot", "doll", "blocks", "kite", "train", "drone", "car", "game", "plush"],
    "garden": [
        "hose",
        "shovel",
        "planter",
        "seeds",
        "grill",
        "lantern",
        "bench",
        "mower",
        "pruner",
        "fence",
    ],
    "office": [
        "notebook",
        "pen",
        "desk",
        "stapler",
        "binder",
        "printer",
        "paper",
        "folder",
        "marker",
        "board",
    ],
    "pets": [
        "leash",
        "collar",
        "bed",
        "feeder",
        "toy",
        "brush",
        "carrier",
        "bowl",
        "treats",
        "crate",
    ],
}
STYLES = [
    "everyday",
    "pro",
    "travel",
    "kids",
    "studio",
    "outdoor",
    "home",
    "office",
    "gaming",
    "eco",
]
SYLLABLES = [
    "vol",
    "tik",
    "nor",
    "dax",
    "lum",
    "ora",
    "pix",
    "zen",
    "bri",
    "kal",
    "mor",
    "ven",
    "sol",
    "tra",
    "qua",
    "fen",
    "gal",
    "rix",
    "hal",
    "cor",
]


def _brands(n: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add(
            (
                rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(["", "a", "o", "ex"])
            ).capitalize()
        )
    return sorted(names)


def build_store(
    n_products: int, *, n_shoppers: int, seed: int, log, with_vectors: bool = True
) -> dict:
    """Write the synthetic store with COPY; return what the benchmark needs to send requests.
    ``with_vectors=False``: no product vectors nor HNSW index (a lexical-only bench)."""
    from django.db import connection

    from catalog.models import Brand, Category
    from catalog.services.demo import catalog_truncate
    from training import vectors
    from training.ml.encoders import encode_texts, load_encoder
    from training.models import ModelVersion

    rng = random.Random(seed)
    catalog_truncate()
    # the bench's own database starts over: deactivate first (deleting an active version is refused)
    ModelVersion.objects.filter(is_active=True).update(is_active=False)
    ModelVersion.objects.filter(vector_space__isnull=False).delete()  # an int8 child first
    ModelVersion.objects.all().delete()
    started = time.perf_counter()
    leaves: list[tuple[int, str, str]] = []  # (id, external id, noun)
    for dept, nouns in DEPARTMENTS.items():
        root = Category.objects.create(external_id=dept, name=dept.capitalize(), path=dept, depth=0)
        for noun in nouns:
            for style in STYLES[:2]:
                ext = f"{dept}-{noun.replace(' ', '-')}-{style}"
                leaf = Category.objects.create(
                    external_id=ext,
                    name=f"{style.capitalize()} {noun}",
                    parent=root,
                    path=f"{dept}/{ext}",
                    depth=1,
                )
                leaves.append((leaf.pk, ext, noun))
    brand_names = _brands(300, rng)
    brands = {b.name: b.pk for b in Brand.objects.bulk_create([Brand(name=n) for n in brand_names])}
    now = datetime.now(UTC)
    titles: list[str] = []
    product_words: list[list[str]] = []
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY catalog_product (external_id, title, description, category_id, brand_id, price, currency, stock, "
            "attributes, image_url, active, search_text, needs_embedding, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(n_products):
            leaf_id, leaf_ext, noun = (
                leaves[i % len(leaves)] if i < len(leaves) else rng.choice(leaves)
            )
            brand = rng.choice(brand_names)
            adjective, material = rng.choice(ADJECTIVES), rng.choice(ADJECTIVES)
            style = rng.choice(STYLES)
            title = f"{brand} {adjective} {noun} {style} {rng.randint(1, 99)}"
            description = (
                f"A {material} {noun} for {style} use by {brand}. {adjective.capitalize()} finish, "
                f"{rng.choice(ADJECTIVES)} design and a {rng.randint(1, 5)}-year warranty."
            )
            titles.append(title)
            product_words.append([brand.lower(), adjective, *noun.split(), style, material])
            copy.write_row(
                (
                    f"b{i:07d}",
                    title,
                    description,
                    leaf_id,
                    brands[brand],
                    Decimal(rng.randint(200, 50000)) / 100,
                    "EUR",
                    rng.choice([0, 3, 10, 25, 40]),
                    json.dumps({"colour": adjective}),
                    "",
                    True,
                    f"{brand} | {leaf_ext.split('-')[0].capitalize()} > {noun}",
                    False,
                    now,
                    now,
                )
            )
    log(f"{n_products} products written in {time.perf_counter() - started:.1f} s")

    # Vectors: each vocabulary word once through MiniLM, each product the mean of its words.
    step = time.perf_counter()
    model = load_encoder(None, device="cpu")
    model.eval()  # as the serving loader leaves it (recommend.serving.loaders)
    vocabulary = sorted({w for words in product_words for w in words})
    word_vectors = encode_texts(model, vocabulary, batch_size=256)
    index_of = {w: i for i, w in enumerate(vocabulary)}
    nrng = np.random.default_rng(seed)
    matrix = np.zeros((n_products, word_vectors.shape[1]), dtype=np.float32)
    for i, words in enumerate(product_words):
        matrix[i] = word_vectors[[index_of[w] for w in words]].mean(axis=0)
    matrix += nrng.normal(0, 0.02, matrix.shape).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    version = ModelVersion.objects.create(
        task="retriever",
        name="bench MiniLM",
        base="sentence-transformers/all-MiniLM-L6-v2",
        dimension=384,
        is_active=True,
        status="ready",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM catalog_product ORDER BY external_id")
        pks = [row[0] for row in cursor.fetchall()]
    if with_vectors:
        vectors.write_embeddings(version.pk, pks, matrix, ["0" * 32] * len(pks))
        log(f"vectors written in {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()
        vectors.ensure_hnsw_index(version.pk, 384)
        log(f"HNSW index built in {time.perf_counter() - step:.1f} s")

    # Shoppers with a taste (a few leaves) and 10-60 events each over 30 days.
    step = time.perf_counter()
    by_leaf: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, category_id FROM catalog_product")
        for pk, leaf in cursor.fetchall():
            by_leaf[leaf].append(pk)
        with cursor.copy(
            "COPY catalog_shopper (external_id, segment, country, attributes, category_interests, "
            "profile_version, created_at) FROM STDIN"
        ) as copy:
            for s in range(n_shoppers):
                copy.write_row((f"bench-shopper-{s}", "bench", "DE", "{}", "{}", 1, now))
        cursor.execute("SELECT id FROM catalog_shopper ORDER BY id")
        shopper_ids = [row[0] for row in cursor.fetchall()]
        start = now - timedelta(days=30)
        n_events = 0
        with cursor.copy(
            "COPY catalog_event (event_id, shopper_id, product_id, type, query, position, value, "
            "review, session, request_id, timestamp, received_at) FROM STDIN"
        ) as copy:
            for s, shopper in enumerate(shopper_ids):
                taste = [lid for lid, _, _ in rng.sample(leaves, 3)]
                for e in range(rng.randint(10, 60)):
                    product = rng.choice(by_leaf[rng.choice(taste)])
                    kind = rng.choices(["view", "click", "add_to_cart", "purchase"], [10, 4, 2, 1])[
                        0
                    ]
                    moment = start + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
                    copy.write_row(
                        (
                            f"be-{s}-{e}",
                            shopper,
                            product,
                            kind,
                            "",
                            None,
                            None,
                            "",
                            f"bs-{s}-{e // 5}",
                            "",
                            moment,
                            moment,
                        )
                    )
                    n_events += 1
        # The catalogue as autovacuum leaves it a minute after an import: right after the COPY
        # its full-text index still holds every new product in GIN's pending list, which each
        # search reads through (10k products: the lexical stage 2.5 times as slow), and no
        # tuple's visibility is settled yet.
        cursor.execute("VACUUM ANALYZE catalog_product")
        for table_name in ("catalog_event", "catalog_shopper", "training_productembedding"):
            cursor.execute(f"ANALYZE {table_name}")
    log(f"{n_shoppers} shoppers, {n_events} events written in {time.perf_counter() - step:.1f} s")
    return {
        "titles": titles,
        "leaves": leaves,
        "brands": brand_names,
        "model": model,
        "version": version,
        "shoppers": [f"bench-shopper-{s}" for s in range(n_shoppers)],
        "words": product_words,
    }


def make_queries(store: dict, n: int, *, seed: int) -> list[dict]:
    """``n`` distinct queries: 85% plain, 10% in one leaf category, 5% one brand; 10% with a typo."""
    rng = random.Random(seed + 1)
    seen: set[str] = set()
    out: list[dict] = []
    while len(out) < n:
        words = rng.choice(store["words"])
        pick = rng.random()
        if pick < 0.4:
            text = f"{rng.choice(ADJECTIVES)} {words[2]}"
        elif pick < 0.7:
            text = f"{words[0]} {words[2]}"
        elif pick < 0.9:
            text = f"{words[1]} {words[2]} for {rng.choice(STYLES)}"
        else:
            text = (
                f"{rng.choice(ADJECTIVES)} {rng.choice(ADJECTIVES)} {words[2]} {rng.choice(STYLES)}"
            )
        if rng.random() < 0.1 and len(text) > 6:
            i = rng.randrange(1, len(text) - 1)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        params: dict = {"q": text}
        kind = rng.random()
        if kind < 0.10:
            params["category"] = rng.choice(store["leaves"])[1]
        elif kind < 0.15:
            params["brand"] = rng.choice(store["brands"])
        key = json.dumps(params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(params)
    return out
