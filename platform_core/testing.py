"""pytest plugin loaded before Django is configured (``-p platform_core.testing``).

Finds or starts the embedded servers (unless DATABASE_URL / REDIS_URL are set), then points
the tests at their own Redis database and temporary DATA_DIR / ARTIFACTS_DIR, so a running
``make run`` and the development data are never touched. The database is pytest-django's
``test_<name>`` database on the same server. The temporary folder is removed when the session
that made it ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from platform_core.embedded import export_environment

export_environment()
os.environ["REDIS_DB"] = os.environ.get("TEST_REDIS_DB", "15")
# Under pytest-xdist each worker process gets a Redis database of its own (gw0: the base one,
# gw1: two below, gw2: four below, …; the odd one between is the benches' default, 14) beside
# pytest-django's per-worker database suffix (test_…_gw1), so two workers never share a cache,
# a buffer, a broker queue or a Celery worker.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and _worker[2:].isdigit():
    os.environ["REDIS_DB"] = str(int(os.environ["REDIS_DB"]) - 2 * int(_worker[2:]))
# Two test runs at once (two checkouts, or a developer beside CI) must not drop each other's
# database: the name carries the Redis db number, which concurrent runs set apart.
os.environ.setdefault("TEST_DATABASE_NAME", f"test_aisle_{os.environ['REDIS_DB']}")
_tmp = tempfile.mkdtemp(prefix="aisle-test-")
os.environ["DATA_DIR"] = _tmp
os.environ["ARTIFACTS_DIR"] = os.path.join(_tmp, "artifacts")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# The config whose session owns ``_tmp``: the first one configured in this process. A pytest run
# inside the tests (pytester's in-process runs) configures another one with this same module
# as its plugin, and its end must not remove the outer session's folder.
_owner = None


def pytest_configure(config) -> None:
    global _owner
    if _owner is None:
        _owner = config


def pytest_unconfigure(config) -> None:
    """Remove this process's DATA_DIR once its session is over (fixtures torn down, the test
    Celery worker stopped). Every process that loads this plugin (a plain run, an xdist
    controller and each of its workers) made a folder of its own at import, so each removes its
    own folder only, when its own session ends, never a worker's that is still running."""
    global _owner
    if config is _owner:
        _owner = None
        shutil.rmtree(_tmp, ignore_errors=True)
