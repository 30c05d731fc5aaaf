"""The platform API and demo mode through a real gunicorn: an operator token's call, a workspace
key refused there, and a keyless demo call."""

import pytest

pytestmark = pytest.mark.live


@pytest.fixture
def operator_token(live_db):
    from operators.models import OperatorToken
    from operators.services import operator_token_create

    row, text = operator_token_create(name="live", scopes=["workspaces:read"])
    yield text
    OperatorToken.objects.filter(pk=row.pk).delete()


def test_platform_call_and_demo_call_through_gunicorn(gunicorn_server, live_workspace_factory, operator_token):
    # given a committed workspace with a key, and the demo workspace
    live = live_workspace_factory("live-platform")
    live_workspace_factory("demo")
    # when an operator lists its keys, and its own key tries the same
    listed = gunicorn_server.get("/api/platform/v1/workspaces/live-platform/keys", key=operator_token)
    refused = gunicorn_server.get("/api/platform/v1/workspaces/live-platform/keys", key=live.key_text)
    # then
    assert listed.status == 200, listed.body
    assert [k["prefix"] for k in listed.json()["data"]] == [live.key.prefix]
    assert live.key.digest.encode() not in listed.body
    assert refused.status == 401 and refused.json()["code"] == "invalid_operator_token"
    # and a keyless call is served in demo mode
    demo = gunicorn_server.post("/api/v1/analyze", body={"text": "I love this"})
    assert demo.status == 200, demo.body
    assert demo.headers["x-demo-mode"] == "true" and "ratelimit" in demo.headers
