"""Schema fuzzing: schemathesis drives every operation of ``/api/schema/`` against the live test
server (real PostgreSQL and Redis) and checks each response against the schema.

It must find no server error and no response that breaks the schema. Every check schemathesis
has is on: not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, negative_data_rejection,
positive_data_acceptance, missing_required_header, unsupported_method,
allow_header_conformance, ignored_auth, object_level_authorization, use_after_free and
ensure_resource_availability (the last two in the stateful phase). The few per-operation
exceptions are in the configuration below, each with its reason. The run is bounded (a fixed
seed, deterministic generation, ``MAX_EXAMPLES`` an operation) so that it fits ``make test``;
``FUZZ_MAX_EXAMPLES`` raises the bound for a deeper run by hand.

Storefront operations are called with an API key holding every scope; staff operations (jobs,
models) with an operator's token. The store is the small serving store, in this test's own
database state (``live_server`` implies a transactional database, flushed afterwards), so a
fuzzed ``full_sync`` or event batch can deactivate or add whatever it likes without touching any
other test. Jobs are recorded but never queued (no worker picks up a fuzzed job afterwards).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.fuzz]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
SEED = 20240611


@pytest.fixture
def fuzz_store(transactional_db, serving_state, hashing_encoder, monkeypatch):
    from rest_framework.authtoken.models import Token

    from platform_core.models import ApiScope
    from platform_core.services import api_client_create
    from tests.factories import UserFactory
    from tests.factories.recommend import build_serving_store
    from training import services as training_services

    queued: list[dict] = []
    monkeypatch.setattr(training_services, "_enqueue", lambda **kw: queued.append(kw))
    store = build_serving_store()
    _, key = api_client_create(name="fuzz-store", scopes=",".join(ApiScope.values))  # every scope
    operator = UserFactory(username="fuzz-operator", role="operator")
    token = Token.objects.create(user=operator)
    return {"store": store, "api_key": key, "token": token.key, "queued": queued}


def _config(tmp_path: Path, *, api_key: str, token: str) -> Path:
    config = tmp_path / "schemathesis.toml"
    config.write_text(f"""
seed = {SEED}
workers = 1
continue-on-failure = true

[checks]
enabled = true

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"
# Unknown query parameters are ignored, as HTTP APIs do (OpenAPI 3.0 cannot say so): do not
# count them as invalid input the server should refuse.
allow-extra-parameters = false

[cache]
enabled = false

[reports]
directory = "{tmp_path / "reports"}"

[auth.openapi.ApiKey]
api_key = "Api-Key {api_key}"

[auth.openapi.tokenAuth]
api_key = "Token {token}"

# 413 is a rejection too (a batch over its item limit).
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

# Events and products are judged one by one: invalid items are reported in a 2xx body and the
# valid ones stored (products with skip_invalid=true), so a batch holding an invalid item is
# accepted by design.
[[operations]]
include-operation-id = ["events_ingest", "products_bulk_upsert"]
checks.negative_data_rejection.enabled = false

# A schema-valid value can name something that does not exist (a category, a product's
# category, a job parameter the kind does not take): a 400 that says so is the contract.
[[operations]]
include-operation-id = ["v1_search_retrieve", "v1_trending_retrieve", "products_bulk_upsert", "v1_jobs_create"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Similar items and bought-together of a product the store has (random ids only ever get a 404);
# their filters, like search's, can name a category that does not exist (a 400 says so).
[[operations]]
include-path-regex = "^/api/v1/products/[{{]product_id[}}]/"
parameters = {{ product_id = "kt-1", "X-Aisle-Simulated-Time" = "2030-06-15T12:00:00Z" }}
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Search by image: a schema-valid string is not always a picture (415), nor small enough (413).
[[operations]]
include-operation-id = ["v1_search_image_create"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "413", "415", "429"]

# schemathesis 4.32's coverage phase sends this optional header as "0" beside maximum-length
# query values and counts it as valid although it does not match the header's pattern (its own
# `matches_pattern` says so): pin the header here; search and trending still fuzz it.
# Its filters are search's (a 400 for a category that does not exist). Promotions take the
# same header and meet the same coverage case.
[[operations]]
include-operation-id = ["v1_recommendations_retrieve", "v1_promotions_retrieve"]
parameters = {{ "X-Aisle-Simulated-Time" = "2030-06-15T12:00:00Z" }}
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
""")
    return config


def test_schema_fuzz_finds_no_server_error_and_no_schema_violation(
    live_server, fuzz_store, tmp_path
):
    config = _config(tmp_path, api_key=fuzz_store["api_key"], token=fuzz_store["token"])
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{live_server.url}/api/schema/",
        "--url",
        live_server.url,
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output = result.stdout + result.stderr
    print(output[-20000:])
    assert result.returncode == 0, output[-15000:]
    # it ran: every operation of the schema, a few hundred cases at least
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    assert selected and selected.group(1) == selected.group(2) and int(selected.group(1)) >= 14, (
        output[-3000:]
    )
    assert generated and int(generated.group(1)) >= 10 * int(selected.group(1)), output[-3000:]
