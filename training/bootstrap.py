"""``make run`` step (after the catalog bootstrap): a fresh install searches semantically.

When no retriever version is active: register the packaged all-MiniLM-L6-v2 as the first
retriever version (loaded offline through ``training.ml.encoders``), embed the catalogue with
it in this process with a progress line, build its HNSW index and activate it. A fast no-op
once a retriever is active. An interrupted run resumes: only products without a current vector
are encoded the next time. Then the intent step (``training.bootstrap_intent``): an intent
classifier trained on weak labels, or the rule-based fallback.
"""

from __future__ import annotations

import sys
import time

from django.conf import settings

from catalog.knowledge.selectors import missing_passage_vector_count
from training import knowledge_vectors, selectors, services, vectors
from training.models import ModelVersion, Task

BASE_NAME = "all-MiniLM-L6-v2 (packaged base)"


def base_name(base: str) -> str:
    """The first retriever's name: the packaged encoder's, or the configured base's last part."""
    if base == "sentence-transformers/all-MiniLM-L6-v2":
        return BASE_NAME
    return f"{base.rstrip('/').rsplit('/', 1)[-1]} (base, DEFAULT_ENCODER)"[:200]


def run(*, stdout=None, style=None) -> ModelVersion | None:
    """The retriever step, then the intent step (``training.bootstrap_intent``)."""
    from training import bootstrap_intent

    version = retriever_run(stdout=stdout, style=style)
    bootstrap_intent.run(stdout=stdout, style=style)
    return version


def retriever_run(*, stdout=None, style=None) -> ModelVersion | None:
    if selectors.active_version(Task.RETRIEVER) is not None:
        return None
    out = stdout or sys.stdout
    version = ModelVersion.objects.filter(
        task=Task.RETRIEVER,
        job__isnull=True,
        base=settings.DEFAULT_ENCODER,
        artifact_dir="",
        status=ModelVersion.Status.READY,
    ).order_by("pk").first() or services.model_version_register(
        task=Task.RETRIEVER,
        name=base_name(settings.DEFAULT_ENCODER),
        base=settings.DEFAULT_ENCODER,
        dimension=384,
        hyperparameters={"source": "packaged wheel"},
    )
    items = vectors.active_product_texts()
    todo = items.subset(vectors.stale_positions(items, version.pk))
    out.write(
        f"Retriever: embedding {len(todo)} of {len(items)} products with {version.base} "
        f"(version #{version.pk})…\n"
    )
    if len(todo):
        from training.runners.embed import embed_version

        started = time.monotonic()
        last = [0.0]

        def progress(fraction, step, total, loss, extra):
            now = time.monotonic()
            if now - last[0] >= 1.0 or step >= total:
                last[0] = now
                rate = step / max(now - started, 1e-9)
                line = f"\r  {step}/{total} products ({fraction:.0%}, {rate:.0f}/s)   "
                if hasattr(out, "ending"):  # a management command's OutputWrapper adds newlines
                    out.write(line, ending="")
                else:
                    out.write(line)
                out.flush()

        figures = embed_version(
            None,
            version,
            items=todo,
            batch_size=128,
            device=None,
            build_index=True,
            progress_cb=progress,
        )
        out.write(
            f"\n  done in {figures['total_s']:.1f} s; index {figures.get('index_s', 0):.1f} s\n"
        )
    elif not vectors.hnsw_index_exists(version.pk):
        vectors.ensure_hnsw_index(version.pk, version.dimension or 384)
    if missing_passage_vector_count(version.pk):  # products current, knowledge base not
        from training.runners.embed import load_version_encoder

        figures = knowledge_vectors.embed_passages(load_version_encoder(version, None), version.pk)
        out.write(f"  knowledge base: {figures['passages']} passages embedded\n")
    vectors.clear_needs_embedding(dict(zip(items.ids, items.hashes, strict=True)))
    services.model_activate_initial(version=version)
    message = f"Retriever version #{version.pk} ({version.name}) is active."
    out.write((style.SUCCESS(message) if style else message) + "\n")
    return version
