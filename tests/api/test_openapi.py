"""The committed openapi.json is the app's schema, and every route is documented."""

import json
from pathlib import Path

from gateway.app.config import Settings
from gateway.app.main import create_app

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"


def _schema() -> dict:
    return create_app(Settings(database_url="sqlite://")).openapi()


def _resolve(document: dict, schema: dict) -> dict:
    if "anyOf" in schema and "examples" not in schema:  # an optional body: the model or null
        schema = next(option for option in schema["anyOf"] if option.get("type") != "null")
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_committed_openapi_matches_the_app():
    committed = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert committed == _schema(), "openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_has_a_summary_and_examples():
    document = _schema()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                assert "examples" in _resolve(document, body["schema"]), f"{where}: request body without examples"
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json")
                if content is None:
                    continue
                schema = content["schema"]
                if schema.get("type") == "array":
                    schema = schema["items"]
                assert "examples" in _resolve(document, schema), f"{where}: {status} response without examples"


def test_error_responses_are_documented_as_problems():
    document = _schema()
    operation = document["paths"]["/api/v1/projects/{project_id}"]["get"]
    assert "application/problem+json" in operation["responses"]["404"]["content"]


def test_every_operation_documents_the_answers_of_the_layers_around_it():
    """Gate, validation, size limit, idempotency and database answers are documented where a route can give them."""
    document = _schema()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            public = path in {"/health", "/ready", "/problems", "/problems/{slug}"} or path == "/api/v1/session"
            expected = set() if public else {"401", "403", "503"}
            if "{" in path:
                expected.add("404")
            if operation.get("parameters") or operation.get("requestBody"):
                expected.add("422")
            if operation.get("requestBody"):
                expected |= {"400", "413"}
            if method in {"post", "put", "patch"}:
                expected |= {"409", "413", "422"}
            assert expected <= set(responses), f"{where} leaves out {sorted(expected - set(responses))}"
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response.get("content", {})) == ["application/problem+json"], f"{where} {status}"
            if not public:  # busy: retry after Retry-After
                assert "Retry-After" in responses["503"]["headers"]


def test_fields_that_refuse_null_are_not_documented_as_nullable():
    schemas = _schema()["components"]["schemas"]
    fields = [("ProjectUpdate", "name"), ("ProjectUpdate", "brief"), ("TaskUpdate", "priority")]
    for model, field in [*fields, ("TaskChanges", "milestone"), ("TaskChanges", "estimates")]:
        assert "anyOf" not in schemas[model]["properties"][field], f"{model}.{field} is documented as nullable"


def _walk(node: object):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_integer_bounds_are_exact_for_every_json_reader():
    """Issue 11: "at most 2^63-1" is read as a double by validators, which then let 2^63-1+1 through (refused by
    the app); PostgreSQL's INTEGER ids stop at 2^31-1. Every bound is within it, and every integer in a path has one."""
    document = _schema()
    for schema in _walk(document):
        for key in ("maximum", "exclusiveMaximum"):
            if key in schema:
                assert schema[key] <= 2**31 - 1, schema
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    assert "maximum" in parameter["schema"], f"{path}: {parameter['name']} is unbounded"


def test_a_plan_edit_names_exactly_one_of_plan_and_edits():
    schema = _schema()["components"]["schemas"]["EditRequest"]
    assert schema["oneOf"] == [{"required": ["plan"]}, {"required": ["edits"]}]
    assert all("anyOf" not in schema["properties"][name] for name in ("plan", "edits"))
