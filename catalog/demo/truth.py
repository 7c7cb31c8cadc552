"""Writing the hidden truth of a demo store as files.  Plain Python, no Django."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from catalog.demo.store import DemoStore

RELEVANCE_HEADER = ["query", "product_id", "title", "description", "grade"]


def write_truth(store: DemoStore, directory: Path) -> dict[str, Path]:
    """Write the hidden truth as files into ``directory`` (created); returns name -> path.

    tastes.json, query_intents.csv (query,intent), review_sentiments.csv
    (event_id,rating,sentiment), judged_queries.json and relevance.csv
    (query,product_id,title,description,grade); relevance_heldout.csv (same columns) for
    the judged queries of the held-out grammar (``judged_heldout``) when the store has them.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    t = store.truth
    paths = {
        "tastes": directory / "tastes.json",
        "query_intents": directory / "query_intents.csv",
        "review_sentiments": directory / "review_sentiments.csv",
        "judged_queries": directory / "judged_queries.json",
        "relevance": directory / "relevance.csv",
    }
    paths["tastes"].write_text(json.dumps(t.tastes, indent=1, sort_keys=True), encoding="utf-8")
    paths["judged_queries"].write_text(json.dumps(t.judged_queries, indent=1), encoding="utf-8")
    tables = {
        "query_intents": (["query", "intent"], t.query_intents),
        "review_sentiments": (["event_id", "rating", "sentiment"], t.review_sentiments),
        "relevance": (RELEVANCE_HEADER, t.relevance),
    }
    heldout = store.extras.get("judged_heldout")
    if heldout:
        paths["relevance_heldout"] = directory / "relevance_heldout.csv"
        tables["relevance_heldout"] = (RELEVANCE_HEADER, heldout["relevance"])
    for name, (header, rows) in tables.items():
        with paths[name].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    return paths


def write_planting_truth(store: DemoStore, directory: Path) -> dict[str, Path]:
    """The truth of each planting whose part carries one (a dict with ``truth``), as
    ``<planting>.json`` in ``directory``; returns name -> path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, part in store.extras.items():
        if isinstance(part, dict) and part.get("truth") is not None:
            paths[name] = directory / f"{name}.json"
            paths[name].write_text(json.dumps(part["truth"], indent=1, sort_keys=True), "utf-8")
    return paths
