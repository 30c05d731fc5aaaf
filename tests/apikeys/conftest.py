"""Helpers for the API key tests: keys with chosen settings, and credentials headers."""

import pytest

from apikeys.services import apikey_create


def bearer(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {text}"}


def problem_of(response) -> dict:
    """The problem body, checked to be RFC 9457 with our extra fields."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "code", "request_id"} <= body.keys()
    assert body["status"] == response.status_code
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.fixture
def make_key(workspace, owner):
    """make_key(**settings) -> (row, text) in `workspace` (or the workspace= given)."""

    def make(**kw):
        kw.setdefault("workspace", workspace)
        kw.setdefault("name", "made key")
        kw.setdefault("actor", owner)
        return apikey_create(**kw)

    return make
