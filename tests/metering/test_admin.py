"""Operators' platform usage page in Django admin: requests over 24 h, top workspaces, error
rate, drain lag; read-only, operators only."""

import time
from http import HTTPStatus

from metering.analytics import recorder
from metering.pipeline.request_stats import fold_all
from tests.conftest import client_for
from tests.factories import UserFactory

PAGE = "/admin/metering/requesttotalshourly/"


def test_platform_usage_page_shows_requests_errors_top_workspaces_and_drain(workspace, other_workspace):
    # given requests of two workspaces in the last hour, folded
    now = time.time()
    for status in ("2xx", "2xx", "2xx", "5xx"):
        recorder.record(workspace_id=workspace.pk, key_id="k1", endpoint="/api/v1/analyze", status_class=status,
                        at=now, latency_us=2000)
    recorder.record(workspace_id=other_workspace.pk, key_id="k2", endpoint="/api/v1/analyze",
                    status_class="refused", at=now, latency_us=100)
    recorder.flush()
    fold_all()
    operator = UserFactory(is_staff=True, is_superuser=True)
    # when
    response = client_for(None, operator).get(PAGE)
    # then
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    usage = response.context["usage"]
    assert (usage["requests"], usage["errors"], usage["refused"]) == (5, 1, 1)
    assert [w["slug"] for w in usage["top_workspaces"]] == ["acme", "globex"]
    assert "Error rate</th><td>20 %" in page and ">acme</a>" in page and "Lag now" in page


def test_platform_usage_page_is_for_operators_and_read_only(member):
    response = client_for(None, member).get(PAGE)
    assert response.status_code == HTTPStatus.FOUND and "/admin/login/" in response["Location"]
    operator = client_for(None, UserFactory(is_staff=True, is_superuser=True))
    assert operator.get(PAGE + "add/").status_code == HTTPStatus.FORBIDDEN
