"""metering.headers.apply: the rate-limit headers written straight into a response, and the
policy rule that keeps what goes into them header-safe."""

import pytest
from django.http import HttpResponse
from django_tenants.utils import schema_context

from core.errors import InvalidInput
from metering import engine, headers
from metering.models import Policy
from tests.metering.conftest import set_policy


def decide(workspace):
    set_policy(workspace, plan="t", burst={"limit": 10, "window": 1},
               meters={"requests": {"hour": 100}, "tokens": {"day": 1000}})
    return engine.check(workspace=workspace, costs={"requests": 1, "tokens": 5}, request_id="r-headers")


def test_applied_headers_read_back_through_django_like_set_ones(workspace):
    decision = decide(workspace)
    expected = headers.build(decision)
    fast, ordinary = HttpResponse("{}"), HttpResponse("{}")
    headers.apply(fast, decision)
    for name, value in expected.items():
        ordinary[name] = value
    # the same headers, by any case, in the same serialised form Django (and the WSGI server) sends
    assert list(fast.items()) == list(ordinary.items())
    assert fast.serialize_headers() == ordinary.serialize_headers()
    assert fast["x-ratelimit-remaining"] == expected["X-RateLimit-Remaining"]
    assert fast.has_header("ratelimit-policy")


@pytest.mark.parametrize("meter", ["tökens", "to-kens", "to kens", "a\r\nX-Injected: 1", "", "m" * 65])
def test_a_meter_name_that_is_not_ascii_letters_digits_or_underscores_is_refused(workspace, meter):
    kept = set_policy(workspace, plan="t", meters={"requests": {"hour": 10}})
    with pytest.raises(InvalidInput, match="ASCII letters, digits and underscores"):
        set_policy(workspace, plan="t", meters={meter: {"hour": 10}})
    with schema_context("public"):
        assert Policy.objects.get(workspace_id=workspace.pk).data == kept
