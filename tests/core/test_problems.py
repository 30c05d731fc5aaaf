"""Errors the API answers as RFC 9457 problems (core/problems.py, config/errors.py), never a
500 and never an HTML page: OPTIONS on the docs and on exports, bodies nested too deep or too
big, unknown /api/ paths, and validation errors of nested fields."""

from http import HTTPStatus

import pytest
from django.test import Client

from apikeys.models import ApiKey
from tests.conftest import host_of

PROBLEM = "application/problem+json"


def _client(host: str = "localhost") -> Client:
    # raise_request_exception=False: a 500 is answered as production answers it, not raised here
    return Client(HTTP_HOST=host, raise_request_exception=False)


def _bearer(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {text}"}


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance", "code", "request_id"}
    assert body["status"] == status and body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    return body


# OPTIONS ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_options_on_the_docs_pages_answers_their_methods(path):
    # when
    response = _client().options(path)
    # then
    assert response.status_code == HTTPStatus.OK
    assert "GET" in response["Allow"] and not response.content


def test_options_on_an_export_describes_the_endpoint_as_json(admin_key):
    # given an admin key
    # when OPTIONS asks for the CSV export (query parameter or Accept header)
    by_param = _client().options("/api/v1/audit-logs?format=csv", **_bearer(admin_key[1]))
    by_accept = _client().options("/api/v1/audit-logs", HTTP_ACCEPT="text/csv", **_bearer(admin_key[1]))
    # then it is answered as JSON metadata, not rendered by the stream-only export renderer
    for response in (by_param, by_accept):
        assert response.status_code == HTTPStatus.OK
        assert response["Content-Type"] == "application/json"
        assert response.json()["name"]


# Bodies -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/analyze", "/api/v1/keys"])
@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,  # past Python's recursion limit: the decoder's RecursionError
    '{"name": "x", "scopes": ' + "[" * 900 + "]" * 900 + "}",  # parsed, then too deep for str() of it
    '{"name": "x", "scopes": ' + "[" * 64 + "]" * 64 + "}",  # one level past the bound
], ids=["100000", "900", "65"])
def test_body_nested_too_deep_is_a_malformed_body_problem(admin_key, path, body):
    # given a JSON body nested too deep
    # when
    response = _client().post(path, body, content_type="application/json", **_bearer(admin_key[1]))
    # then
    problem = _assert_problem(response, HTTPStatus.BAD_REQUEST, "malformed_json")
    assert "nested" in problem["detail"]
    # and nothing was created
    assert ApiKey.objects.count() == 1


def test_body_nested_up_to_the_bound_is_still_parsed(api_key):
    # given an object 64 levels deep, with brackets in strings too: read as usual (`text` is
    # missing, so a field error)
    body = '{"other": ' + "[" * 63 + "]" * 63 + ', "note": "' + "[{" * 100 + '"}'
    # when
    response = _client().post("/api/v1/analyze", body, content_type="application/json", **_bearer(api_key[1]))
    # then
    _assert_problem(response, HTTPStatus.BAD_REQUEST, "invalid_input")


@pytest.mark.parametrize("path", ["/api/v1/keys", "/api/v1/analyze"])
def test_body_too_large_is_a_413_problem(admin_key, path):
    # given a 30 MB body
    body = b'{"text": "' + b"a" * (30 * 1024 * 1024) + b'"}'
    # when
    response = _client().post(path, body, content_type="application/json", **_bearer(admin_key[1]))
    # then
    problem = _assert_problem(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large")
    assert "MB" in problem["detail"]
    # and nothing was created
    assert ApiKey.objects.count() == 1


def test_too_many_query_parameters_is_a_400_problem(admin_key):
    # given more query parameters than Django parses (DATA_UPLOAD_MAX_NUMBER_FIELDS)
    query = "&".join(f"q{i}=1" for i in range(1_001))
    # when
    response = _client().get(f"/api/v1/audit-logs?{query}", **_bearer(admin_key[1]))
    # then
    problem = _assert_problem(response, HTTPStatus.BAD_REQUEST, "too_many_fields")
    assert "1000" in problem["detail"]


def test_request_refused_before_the_view_is_a_400_problem_under_api(settings, workspace):
    # given a host the tenant middleware serves but Django's ALLOWED_HOSTS does not (DisallowedHost,
    # raised by CommonMiddleware before any view: handler400)
    settings.ALLOWED_HOSTS = ["localhost"]
    # when
    api = _client(host_of(workspace)).get("/api/v1/info")
    page = _client(host_of(workspace)).get("/login/")
    # then the API answers a problem (not echoing the operator's hint), the page Django's 400 page
    problem = _assert_problem(api, HTTPStatus.BAD_REQUEST, "bad_request")
    assert "ALLOWED_HOSTS" not in problem["detail"]
    assert page.status_code == HTTPStatus.BAD_REQUEST and page["Content-Type"].startswith("text/html")


def test_body_too_large_on_a_page_is_still_an_html_400(workspace, owner):
    # given a page (not the API)
    client = _client(host_of(workspace))
    client.force_login(owner)
    # when a form post is too big
    response = client.post("/login/", b"a=" + b"b" * (30 * 1024 * 1024), content_type="application/x-www-form-urlencoded")
    # then the page answers as pages do
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"].startswith("text/html")


# Unknown paths ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/nope/", "/api/v2/keys", "/api/", "/api/v1/keys/x/y/z"])
def test_unknown_api_path_on_the_public_host_is_a_404_problem(path):
    # when
    response = _client().get(path)
    # then
    body = _assert_problem(response, HTTPStatus.NOT_FOUND, "not_found")
    assert body["instance"] == path


def test_unknown_api_path_on_a_workspace_host_is_a_404_problem(workspace, api_key):
    # when, with and without a key
    anonymous = _client(host_of(workspace)).get("/api/v1/nope")
    keyed = _client(host_of(workspace)).post("/api/v1/nope", {}, content_type="application/json",
                                             **_bearer(api_key[1]))
    # then
    _assert_problem(anonymous, HTTPStatus.NOT_FOUND, "not_found")
    _assert_problem(keyed, HTTPStatus.NOT_FOUND, "not_found")


def test_unknown_api_path_is_a_404_problem_under_debug_too(settings):
    # given DEBUG (make run), where Django answers an unmatched URL with its HTML 404 page
    settings.DEBUG = True
    # when
    response = _client().get("/api/v1/nope")
    # then
    _assert_problem(response, HTTPStatus.NOT_FOUND, "not_found")


@pytest.mark.parametrize(("method", "path", "location"), [
    ("get", "/api/docs", "/api/docs/"),
    ("get", "/api/schema?format=json", "/api/schema/?format=json"),
])
def test_api_path_missing_its_slash_still_redirects(method, path, location):
    # when
    response = getattr(_client(), method)(path)
    # then CommonMiddleware's APPEND_SLASH redirect is kept
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == location


def test_unknown_page_is_still_an_html_404(workspace):
    # when
    response = _client(host_of(workspace)).get("/nope/")
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("text/html")


# Validation errors ------------------------------------------------------------------------

def test_validation_error_of_a_list_item_names_its_path(admin_key):
    # given a key request whose second scope is unknown
    body = {"name": "ci", "scopes": ["read", "root"]}
    # when
    response = _client().post("/api/v1/keys", body, content_type="application/json", **_bearer(admin_key[1]))
    # then the error names `scopes.1` in plain strings, no Python repr
    problem = _assert_problem(response, HTTPStatus.BAD_REQUEST, "invalid_input")
    assert problem["errors"] == {"scopes.1": ['"root" is not a valid choice.']}
    assert problem["field"] == "scopes"
    assert problem["detail"] == '"root" is not a valid choice.'
    assert "ErrorDetail" not in response.content.decode()
    assert ApiKey.objects.count() == 1

