"""The text-to-image retriever of text search (issue 17 §2): a text query's vector against the
product pictures' vectors, one more list in the fusion when the strategy gives it a weight.

The in-platform image tower is trained against the frozen title vectors of one text encoder
(``hyperparameters["text_version"]``: the retriever active when ``embed_images`` ran), so its
picture vectors live in that encoder's space and a query encoded there can be compared with
them.  A query served by any other text space — another retriever, or a CLIP-style image model,
whose text tower search does not load — gets no image list, and the reason is noted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.images import vectors as image_vectors
from recommend.serving.retrievers import filter_sql
from training import selectors as training_selectors
from training.models import Task

SOURCE = "image"


def shared_space(retriever: Any, dimension: int) -> tuple[Any, str]:
    """(the active image version, "") when its vectors share ``retriever``'s text space, else
    (None, why not)."""
    version = training_selectors.active_version(Task.IMAGE)
    if version is None or not version.dimension:
        return None, "no image encoder is active"
    hyper = version.hyperparameters or {}
    if hyper.get("encoder") != "tower":
        return None, f"image #{version.pk} is not trained in a text space of search"
    trained_in = hyper.get("text_version")
    if trained_in is None or trained_in not in {retriever.id, retriever.space_id}:
        return None, (
            f"image #{version.pk} was trained against text space #{trained_in}, "
            f"the query is in #{retriever.space_id}"
        )
    if version.dimension != dimension:
        return None, f"image #{version.pk} has {version.dimension} dimensions, not {dimension}"
    return version, ""


def text_image_hits(
    retriever: Any,
    query_vector: Sequence[float],
    *,
    limit: int,
    filters: Mapping[str, Any] | None,
    min_score: float = 0.0,
    gated: bool = False,
) -> tuple[list[tuple[int, float]], str]:
    """(product id, cosine) of the products whose picture is nearest the query's text vector,
    above ``min_score``, best first; and a note for the timing header. ``gated``: the query
    matched nothing by its words or its text vector, and the pictures are not asked (a text
    query's cosine to a picture runs lower than to a text, so a floor made for texts cannot
    tell a nonsense query here)."""
    version, why_not = shared_space(retriever, len(query_vector))
    if version is None:
        return [], f"off: {why_not}"
    if gated:
        return [], f"image #{version.pk}: not asked (no word or text-vector match)"
    where, params = filter_sql(filters, "p") if filters else ("", [])
    pairs = image_vectors.nearest_products(
        version.pk,
        version.dimension,
        query_vector,
        limit=limit,
        where_sql=where,
        where_params=params,
    )
    hits = [(pk, sim) for pk, sim in pairs if sim > min_score]
    return hits, f"image #{version.pk}: {len(hits)} of {len(pairs)} above cosine {min_score:g}"
