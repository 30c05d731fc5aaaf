import pytest
from rest_framework.test import APIClient

from operators.scopes import SCOPES
from operators.services import operator_token_create


def bearer(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {text}"}


@pytest.fixture
def make_token():
    """make_token(scopes=..., **kw) -> (row, text)."""

    def make(scopes=tuple(SCOPES), **kw):
        kw.setdefault("name", "ops script")
        return operator_token_create(scopes=list(scopes), **kw)

    return make


@pytest.fixture
def token(make_token):
    """Every scope."""
    return make_token()


@pytest.fixture
def platform():
    """A client on the public host: platform(method, path, token_text, **kw)."""
    client = APIClient(HTTP_HOST="localhost")

    def call(method, path, text=None, data=None, **kw):
        headers = bearer(text) if text else {}
        return getattr(client, method)(f"/api/platform/v1/{path}", data, format="json", **headers, **kw)

    return call


@pytest.fixture
def clock(monkeypatch):
    """metering's clock, stopped (tests/metering/conftest.py)."""
    from metering import engine
    from tests.metering.conftest import stop_clock

    c = stop_clock(monkeypatch)
    engine.reset_local()
    return c
