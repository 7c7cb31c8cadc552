"""A public interaction log shipped inside a PyPI wheel, fetched at bench time, never committed.

MovieLens 100k (943 users, 1682 movies, 100,000 ratings) ships in the ``recbole`` wheel as
``recbole/dataset_example/ml-100k/ml-100k.inter`` / ``.item`` (RecBole's atomic files, tab
separated, a ``name:type`` header). ``pip download --no-deps`` puts the wheel under
``.data/bench/`` once; the files are read straight from the zip.

Conversion to Aisle's import formats (documented rule): every rating, whatever its value, is
one ``click`` event of that user on that movie at the rating's time (the implicit-feedback
reading of the published top-N benchmarks); products are the movies, titled with the movie
title and release year, price 0.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".data" / "bench" / "recbole"
PACKAGE = "recbole==1.2.1"
INTER = "recbole/dataset_example/ml-100k/ml-100k.inter"
ITEM = "recbole/dataset_example/ml-100k/ml-100k.item"


def wheel(cache: Path = CACHE) -> Path:
    """The cached recbole wheel, downloaded (without dependencies) when missing."""
    found = sorted(cache.glob("recbole-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", str(cache)],
            check=True,
        )
        found = sorted(cache.glob("recbole-*.whl"))
    return found[-1]


def _atomic(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    names = [column.split(":")[0] for column in lines[0].split("\t")]
    return [dict(zip(names, line.split("\t"), strict=False)) for line in lines[1:] if line]


def read_ml100k(cache: Path = CACHE) -> tuple[list[dict], list[dict]]:
    """``(ratings, movies)`` rows of MovieLens 100k from the wheel."""
    with zipfile.ZipFile(wheel(cache)) as z:
        ratings = _atomic(z.read(INTER).decode("latin-1"))
        movies = _atomic(z.read(ITEM).decode("latin-1"))
    return ratings, movies


def write_import_files(directory: Path, cache: Path = CACHE) -> tuple[Path, Path, int]:
    """products.csv and events.csv in Aisle's import formats; the number of events."""
    ratings, movies = read_ml100k(cache)
    products = directory / "products.csv"
    events = directory / "events.csv"
    with products.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["external_id", "title", "price", "stock"])
        for movie in movies:
            title = (movie.get("movie_title") or "").strip() or f"movie {movie['item_id']}"
            year = (movie.get("release_year") or "").strip()
            out.writerow(
                [f"ml{movie['item_id']}", f"{title} ({year})" if year else title, "0", "1"]
            )
    with events.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["event_id", "shopper", "type", "product", "timestamp"])
        for r in ratings:
            when = datetime.fromtimestamp(int(float(r["timestamp"])), tz=UTC)
            out.writerow(
                [
                    f"ml100k-{r['user_id']}-{r['item_id']}",
                    f"u{r['user_id']}",
                    "click",
                    f"ml{r['item_id']}",
                    when.isoformat(),
                ]
            )
    return products, events, len(ratings)
