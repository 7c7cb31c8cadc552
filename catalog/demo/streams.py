"""Named random streams: each planting of the demo store draws from a stream of its own.

``Streams(seed)`` holds every random stream of one store:

- ``rng(name)`` / ``nrng(name)``: the ``random.Random`` / ``numpy.random.Generator`` of
  planting ``name``, seeded from a hash of (seed, name) alone.  What one planting draws
  never moves another's numbers, whatever runs before it, so a new planting leaves the
  store as it was and only adds its own part.  A name is taken once per store (once per
  kind), so two plantings cannot share a stream by accident.
- ``base`` / ``base_np``: the sequential streams the first plantings share (catalog, then
  shoppers, then traffic draw from them in that fixed order).  They stay as they are so
  that the base store stays byte-identical; ``seal()`` closes them once those plantings
  are done, and nothing draws from them again.

Plain Python + numpy, no Django.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np

BASE = "base"


class Streams:
    """The random streams of one demo store, all derived from its ``seed``."""

    def __init__(self, seed: int):
        self.seed = seed
        self._base = random.Random(seed)
        self._base_np = np.random.default_rng(seed)
        self._sealed = False
        self._taken: set[tuple[str, str]] = set()

    # -- the shared base streams of the first plantings ------------------------------
    @property
    def base(self) -> random.Random:
        """The sequential ``random`` stream of the catalog, shopper and traffic plantings."""
        self._check_open()
        return self._base

    @property
    def base_np(self) -> np.random.Generator:
        """The sequential numpy stream of the traffic planting."""
        self._check_open()
        return self._base_np

    def seal(self) -> None:
        """Close the base streams: every planting after this point uses a named stream."""
        self._sealed = True

    def _check_open(self) -> None:
        if self._sealed:
            raise RuntimeError(
                "the base random stream is closed: a new planting takes streams.rng(name)"
            )

    # -- a stream per planting ---------------------------------------------------------
    def rng(self, name: str) -> random.Random:
        """Planting ``name``'s own ``random.Random``, seeded from (seed, name)."""
        self._take("random", name)
        return random.Random(self._key(name))

    def nrng(self, name: str) -> np.random.Generator:
        """Planting ``name``'s own numpy generator, seeded from a SHA-256 of (seed, name)."""
        self._take("numpy", name)
        digest = hashlib.sha256(self._key(name).encode("utf-8")).digest()
        return np.random.default_rng(int.from_bytes(digest, "big"))

    def _key(self, name: str) -> str:
        # random.Random hashes a str seed with SHA-512; the judged-query and relevance
        # plantings were seeded with exactly these strings before streams had names
        return f"aisle-demo-{name}-{self.seed}"

    def _take(self, kind: str, name: str) -> None:
        if not name or name == BASE:
            raise ValueError(f"{name!r} is not a planting's stream name")
        if (kind, name) in self._taken:
            raise ValueError(f"the {kind} stream {name!r} is already taken: one per planting")
        self._taken.add((kind, name))
