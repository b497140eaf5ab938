"""The OpenAPI document is one generated clients can use: valid OpenAPI, security schemes, every error status with
the error schema and an example per code, NDJSON and usage models; and the service answers as it says
(schemathesis sends generated requests, valid and invalid, and checks every answer against the document)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from app.api.error_codes import ERROR_CODES
from app.api.main import create_app

ERROR_STATUSES = {"400", "401", "404", "405", "413", "422", "429", "500", "503"}


@pytest.fixture(scope="module")
def replay_archive(tmp_path_factory):
    """A WARC file with nothing in it but its warcinfo record: every fetch of a replaying service is
    not_in_archive, so generated requests never reach the network."""
    from warcio.warcwriter import WARCWriter

    path = tmp_path_factory.mktemp("warc") / "empty.warc.gz"
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "pharmacheck tests"}))
    return str(path)


def _spec(settings) -> dict:
    with TestClient(create_app(settings)) as c:
        return c.get("/openapi.json").json()


@pytest.mark.parametrize("keys", [(), ("a-key",)])
def test_the_document_is_valid_openapi_with_security_and_every_error(sites, tmp_path, keys):
    spec = _spec(sites.settings(data_dir=str(tmp_path), api_keys=keys))
    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                       "description": schemes["ApiKeyHeader"]["description"]}
    assert schemes["BearerAuth"]["type"] == "http" and schemes["BearerAuth"]["scheme"] == "bearer"
    seen_statuses: set[str] = set()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            seen_statuses |= set(responses)
            assert {"404", "405", "500", "default"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status in ERROR_STATUSES or status == "default":
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
            if path.startswith("/api/"):
                optional = {} in op["security"]
                assert optional is (not keys), (path, op["security"])
                assert {"ApiKeyHeader": []} in op["security"] and {"BearerAuth": []} in op["security"]
                assert {"401", "429", "503"} <= set(responses)
                assert "WWW-Authenticate" in responses["401"]["headers"]
                assert "Retry-After" in responses["429"]["headers"]
                ok = next(r for s, r in responses.items() if s.startswith("2"))
                assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Reset"} <= set(ok["headers"])
            else:
                assert op["security"] == []
            if "requestBody" in op:
                assert {"413", "422"} <= set(responses), (method, path)
    assert ERROR_STATUSES <= seen_statuses
    # One example per error code, under its status.
    examples = {}
    for methods in spec["paths"].values():
        for op in methods.values():
            for status, response in op["responses"].items():
                for code in response.get("content", {}).get("application/json", {}).get("examples", {}):
                    examples[code] = status
    assert {e.code: str(e.status) for e in ERROR_CODES} == examples
    # FastAPI's own validation error shape is gone: one error schema for everything.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_batch_usage_and_error_models(sites, tmp_path):
    spec = _spec(sites.settings(data_dir=str(tmp_path)))
    batch = spec["paths"]["/api/v1/batches"]["post"]["responses"]["200"]["content"]
    assert list(batch) == ["application/x-ndjson"]
    assert batch["application/x-ndjson"]["schema"] == {"$ref": "#/components/schemas/ResultItem"}
    schemas = spec["components"]["schemas"]
    assert {"index", "input_url", "report", "error"} <= set(schemas["ResultItem"]["properties"])
    job = spec["paths"]["/api/v1/jobs"]["post"]["responses"]
    assert "202" in job and {"401", "413", "422", "429"} <= set(job)
    usage = spec["paths"]["/api/v1/usage"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert usage == {"$ref": "#/components/schemas/UsageResponse"}
    assert {"key", "rate_limit", "quota", "usage"} <= set(schemas["UsageResponse"]["properties"])
    assert "details" in schemas["ErrorBody"]["properties"]
    body = spec["paths"]["/api/v1/checks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schemas[body["$ref"].rsplit("/", 1)[-1]]["properties"]["url"]["examples"] == ["https://pharmacy.example"]
    assert "batch_exceeds_limit" in spec["info"]["description"]


def test_generated_requests_get_the_answers_the_document_promises(replay_archive, tmp_path):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    from app.settings import Settings

    app = create_app(Settings(data_dir=str(tmp_path), replay_paths=(replay_archive,), rate_limit_anonymous="100000/minute"))
    # schemathesis drives the app on event loops of its own, so its lifespan (the job queue) is not started:
    # jobs it creates stay queued, which is all the answers need.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            # A string the schema allows may still not be a checkable address ("0"): that 400 is documented,
            # so the check that every schema-valid request succeeds does not apply. All the others do.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            given(case=operation.as_strategy())(run)()
        except Exception as exc:  # collect all, so one run names every operation that breaks its promise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == []
