"""The experiments tests serve real requests: they share the serving fixtures of the recommend
tests (fresh serving caches, the hashing encoder, the small serving store)."""

from tests.recommend.conftest import hashing_encoder, serving_state, serving_store  # noqa: F401
