"""The OpenAPI document (core/openapi.py): it validates, it lists every /api/ URL and method, and
what it says about errors and headers is what the server answers."""

from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apikeys.models import ApiKey
from tests.metering.conftest import set_policy

PROBLEM = "application/problem+json"
# /api/ routes that are not API operations: the document itself, its two viewers, and the catch-all
# that answers any other /api/ path with a 404 problem.
NOT_OPERATIONS = {"schema", "api-docs", "api-redoc", "api-not-found"}


@pytest.fixture(scope="module")
def schema() -> dict:
    out = StringIO()
    call_command("spectacular", "--format", "openapi", stdout=out)
    return yaml.safe_load(out.getvalue())


def _api_routes(urlconf: str):
    """(OpenAPI path, view class, url name) of every /api/ route in `urlconf`, walking includes."""
    stack = [("", get_resolver(urlconf).url_patterns)]
    while stack:
        prefix, patterns = stack.pop()
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                stack.append((route, pattern.url_patterns))
            elif isinstance(pattern, URLPattern) and route.lstrip("^/").startswith("api/"):
                path = "/" + route.lstrip("^")
                for converter in ("str", "int", "slug", "uuid", "path"):
                    path = path.replace(f"<{converter}:", "{")
                path = path.replace("<", "{").replace(">", "}")
                yield path, getattr(pattern.callback, "view_class", None), pattern.name


def _all_api_routes():
    routes = {}
    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        for path, view, name in _api_routes(urlconf):
            routes[(path, name)] = view
    return routes


def test_schema_validates_with_no_warning(tmp_path):
    # when drf-spectacular builds and validates the document against the OpenAPI 3 schema,
    # failing on any warning (an unresolvable serializer, an operationId collision...)
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    # then it got there (a warning or an invalid document raises)
    assert (tmp_path / "schema.yml").stat().st_size > 10_000


def test_schema_lists_every_api_url_and_method(schema):
    # given every /api/ route of every host's URLconf
    routes = _all_api_routes()
    assert len(routes) >= 8
    missing = []
    for (path, name), view in routes.items():
        if name in NOT_OPERATIONS:
            continue
        # then each is in the document, with every method its view answers
        documented = schema["paths"].get(path)
        if documented is None:
            missing.append(path)
            continue
        methods = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        missing.extend(f"{m.upper()} {path}" for m in methods - set(documented))
    assert missing == []


def test_every_operation_documents_its_problems_with_examples(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # every authenticated operation says what a bad credential answers (a public one,
            # with no security requirement at all, such as the plan catalogue, has none)
            if "security" in operation:
                assert "401" in responses, f"{method} {path}"
            for status, response in responses.items():
                if int(status) < 400:
                    continue
                content = response["content"]
                assert list(content) == [PROBLEM], f"{method} {path} {status}"
                examples = content[PROBLEM]["examples"]
                assert examples, f"{method} {path} {status}"
                for example in examples.values():
                    assert example["value"]["status"] == int(status)
                    assert example["value"]["instance"] == path


def _documented(schema, path: str, method: str, status: int) -> set[str]:
    response = schema["paths"][path][method]["responses"].get(str(status))
    if response is None:
        return set()
    return {example["value"]["code"] for example in response["content"][PROBLEM]["examples"].values()}


def _assert_documented(schema, path, method, response):
    assert response["Content-Type"] == PROBLEM, response.content[:300]
    code = response.json()["code"]
    assert code in _documented(schema, path, method, response.status_code), (method, path, response.status_code, code)


def _call(client, method, path, **kw):
    concrete = path.replace("{key_id}", "nosuchkey000")
    return getattr(client, method)(concrete, content_type="application/json", **kw)


def test_what_the_server_refuses_is_documented(schema, workspace, owner, api_key):
    # given a read/write key (no admin scope), no key, and a key of the wrong format
    client = Client(HTTP_HOST="localhost")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {api_key[1]}"}
    for path, operations in schema["paths"].items():
        for method in operations:
            # when each operation is called without credentials, with a malformed key, and with
            # a key that may lack its scope
            for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer tg_live_nope"}, bearer):
                response = _call(client, method, path, **headers)
                if response.status_code < 400:
                    continue
                # then the answer's status and code are in the document for that operation
                _assert_documented(schema, path, method, response)
            # and on a host that serves no workspace
            unknown = _call(Client(HTTP_HOST="nosuch.localhost"), method, path, **bearer)
            assert unknown.status_code == 404
            _assert_documented(schema, path, method, unknown)


def test_the_metered_endpoints_errors_and_headers_are_documented(schema, workspace, owner, api_key):
    # given a key whose plan allows one request a second
    set_policy(workspace, plan="t", burst={"limit": 1, "window": 1}, meters={"requests": {"hour": 100}})
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    path = "/api/v1/analyze"
    # when it sends bad bodies
    for body in ({}, {"text": ""}, {"text": "x" * 10_001}, "{not json"):
        response = client.post(path, body, content_type="application/json")
        # then each refusal is documented
        _assert_documented(schema, path, "post", response)
    # when it is admitted, then refused by the burst limit
    admitted = client.post(path, {"text": "I love this API"}, content_type="application/json")
    refused = client.post(path, {"text": "I love this API"}, content_type="application/json")
    assert (admitted.status_code, refused.status_code) == (200, 429)
    _assert_documented(schema, path, "post", refused)
    # then every header either answer carries is one the document names for its status
    responses = schema["paths"][path]["post"]["responses"]
    for response in (admitted, refused):
        documented = {name.lower() for name in responses[str(response.status_code)]["headers"]}
        sent = {name.lower() for name in response.headers if name.lower().startswith(("ratelimit", "x-ratelimit",
                                                                                          "retry-after"))}
        assert sent and sent <= documented, sent - documented
    assert "retry-after" in {name.lower() for name in responses["429"]["headers"]}


def test_an_unknown_key_id_answers_a_documented_404(schema, workspace, owner):
    # given an admin key
    from apikeys.services import apikey_create

    _row, text = apikey_create(workspace=workspace, name="admin", scopes=["read", "write", "admin"], actor=owner)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {text}")
    # when it asks for a key that does not exist
    response = client.get("/api/v1/keys/nosuchkey000")
    # then the 404 is documented
    _assert_documented(schema, "/api/v1/keys/{key_id}", "get", response)
    assert ApiKey.objects.count() == 1
