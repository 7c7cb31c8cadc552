"""``embed_knowledge``: the knowledge base's passage vectors for one or every served retriever."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from catalog.knowledge.selectors import passage_count
from training import knowledge_vectors, selectors
from training.context import JobContext
from training.models import ModelVersion, Task
from training.runners.embed import load_version_encoder


def run(ctx: JobContext) -> None:
    from training.ml.device import pick_device

    params = ctx.params
    device = pick_device(params["device"])
    ctx.set_device(device)
    if params["version"]:
        version = ModelVersion.objects.filter(pk=params["version"], task=Task.RETRIEVER).first()
        if version is None:
            raise ValidationError(f"Retriever version #{params['version']} does not exist.")
        versions = [version]
    else:
        versions = list(selectors.served_retriever_versions())
    if not versions:
        ctx.log("no retriever version is active or pinned: nothing to embed")
        ctx.finish(None, {"versions": [], "passages": 0})
        return
    ctx.log(f"{passage_count()} passages in the knowledge base")
    per_version = {}
    share = 1.0 / len(versions)
    for number, version in enumerate(versions):
        ctx.check_cancel()
        with ctx.stage(f"version #{version.pk}", number * share, (number + 1) * share):
            model = load_version_encoder(version, device)
            figures = knowledge_vectors.embed_passages(
                model,
                version.pk,
                batch_size=params["batch_size"],
                progress_cb=ctx.progress,
                should_cancel=ctx.should_cancel,
            )
        ctx.log(f"version #{version.pk}: {figures['passages']} passages encoded")
        per_version[str(version.pk)] = figures
    ctx.finish(
        versions[0],
        {
            "versions": [v.pk for v in versions],
            "per_version": per_version,
            "passages": sum(f["passages"] for f in per_version.values()),
        },
    )
