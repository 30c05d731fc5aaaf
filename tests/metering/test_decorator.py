"""@metered on a product view: costs from the request and from the response."""

import json
from http import HTTPStatus

import pytest
from django.db import connection
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission
from core.redis import get_redis
from metering import redis_keys, selectors
from metering.decorators import from_response, metered
from tests.metering.conftest import set_policy

ran: list[int] = []


class TokensApi(APIView):
    """A product view whose token count is only known from its own answer (an LLM's, say)."""

    permission_classes = [ScopePermission]

    @metered(requests=1, tokens=from_response(lambda response: response.data["usage"]["tokens"]))
    def post(self, request):
        ran.append(request.data["tokens"])
        return Response({"answer": "...", "usage": {"tokens": request.data["tokens"]}})


class NegativeApi(APIView):
    permission_classes = [ScopePermission]

    @metered(requests=1, tokens=lambda request: request.data["tokens"])
    def post(self, request):
        ran.append(request.data["tokens"])
        return Response({})


def call(view, key: str, tokens: int, rid: str):
    request = APIRequestFactory().post("/api/v1/example", {"tokens": tokens}, format="json",
                                       HTTP_AUTHORIZATION=f"Bearer {key}")
    request.request_id = rid
    try:
        response = view.as_view()(request)
        if hasattr(response, "render"):  # a DRF Response; problems are rendered already
            response.render()
        return response
    finally:
        connection.set_schema_to_public()


def used(workspace, meter: str, window: str) -> int:
    [item] = [i for i in selectors.limits_for(workspace=workspace)["limits"] if (i["meter"], i["window"]) == (meter, window)]
    return item["used"]


def events(workspace) -> list[str]:
    return [fields[b"e"].decode() for _, fields in get_redis().xrange(redis_keys.usage_stream(workspace.pk))]


@pytest.fixture(autouse=True)
def _ran():
    ran.clear()


def test_a_cost_read_from_the_response_is_counted_with_the_others_after_the_view(workspace, api_key, clock):
    # given tokens limited per day, and a view that learns its token count while it runs
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}, "tokens": {"day": 10}})
    # when
    response = call(TokensApi, api_key[1], 7, "rid-response-1")
    # then the view ran once, its answer came back with the rate-limit state after counting it
    assert response.status_code == HTTPStatus.OK and json.loads(response.content)["usage"]["tokens"] == 7
    assert ran == [7]
    assert 'tokens-day";r=3;' in response["RateLimit"]
    assert used(workspace, "tokens", "day") == 7 and used(workspace, "requests", "hour") == 1
    [event] = events(workspace)
    assert event.startswith("rid-response-1\t") and "requests=1;tokens=7" in event


def test_a_refusal_after_the_view_drops_its_answer_and_counts_nothing(workspace, api_key, clock):
    # given 7 of 10 tokens used today
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}, "tokens": {"day": 10}})
    assert call(TokensApi, api_key[1], 7, "rid-response-2").status_code == HTTPStatus.OK
    # when the next answer would take 5 more
    response = call(TokensApi, api_key[1], 5, "rid-response-3")
    # then it is a 429 problem naming the tokens window; the view ran, but its answer is not
    # sent and nothing of the request is counted in any window, nor recorded as usage
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert problem["window"] == "day" and problem["meter"] == "tokens" and problem["code"] == "quota_exceeded"
    assert "answer" not in problem and "Retry-After" in response
    assert ran == [7, 5]
    assert used(workspace, "tokens", "day") == 7 and used(workspace, "requests", "hour") == 1
    assert len(events(workspace)) == 1


def test_a_negative_cost_is_an_error_and_counts_nothing(workspace, api_key, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}, "tokens": {"day": 10}})
    with pytest.raises(ValueError, match=r"@metered\(tokens=\.\.\.\): the cost came out negative \(-3\)"):
        call(NegativeApi, api_key[1], -3, "rid-negative")
    assert ran == []
    assert used(workspace, "tokens", "day") == 0 and used(workspace, "requests", "hour") == 0
    assert events(workspace) == []


def test_from_response_needs_a_callable():
    with pytest.raises(TypeError, match="callable of the response"):
        from_response(3)
    assert callable(metered(requests=1, tokens=from_response(lambda response: 1)))
