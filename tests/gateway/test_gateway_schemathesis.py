"""Property-based testing of the whole HTTP API from its own OpenAPI schema, with a valid token:
whatever schemathesis sends (valid or deliberately invalid), the gateway never answers 5xx.

schemathesis' pytest plugin does not work with this pytest; its strategies are driven with
hypothesis directly instead, one parametrized test per operation and generation mode.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.gateway.conftest import GROUP, LiveGateway, auth

pytestmark = [pytest.mark.model, GROUP]

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
OPERATIONS = {  # negative cases only where some input can be invalid
    ("POST", "/v1/embeddings"): (POSITIVE, NEGATIVE),
    ("POST", "/v1/chat/completions"): (POSITIVE, NEGATIVE),
    ("POST", "/v1/jobs"): (POSITIVE, NEGATIVE),
    ("GET", "/v1/jobs/{job_id}"): (POSITIVE,),
    ("GET", "/v1/jobs/{job_id}/results"): (POSITIVE, NEGATIVE),
    ("GET", "/v1/models"): (POSITIVE,),
    ("GET", "/healthz"): (POSITIVE,),
    ("GET", "/readyz"): (POSITIVE,),
    ("GET", "/metrics"): (POSITIVE,),
}
CASES = [(method, path, mode) for (method, path), modes in OPERATIONS.items() for mode in modes]


@pytest.fixture(scope="module")
def api_schema(gateway: LiveGateway) -> Any:
    return schemathesis.openapi.from_url(gateway.url + "/openapi.json")


def test_the_schema_lists_every_operation(api_schema: Any) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_input_produces_a_server_error(
    api_schema: Any, gateway: LiveGateway, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    secret = gateway.token("schemathesis")
    examples = 40 if path == "/v1/embeddings" else 20

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(case: Any) -> None:
        if path == "/v1/chat/completions" and isinstance(case.body, dict):
            case.body["stream"] = False  # streams are exercised in the API tests
        case.call_and_validate(headers=auth(secret), checks=[not_a_server_error])

    check()
