"""Reconciliation: requests admitted in Redis = stored = rolled up, per workspace and hour;
a loss is flagged (metric + audit event), not silent."""

import io
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from django.core.management import call_command
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from auditing.models import AuditEvent
from metering.models import UsageEvent, UsageReconciliation
from metering.pipeline.drain import drain_workspace
from metering.pipeline.reconcile import SETTLE_SECONDS, usage_reconcile
from tests.metering.conftest import EDGE, set_policy

K = 4
HOUR = datetime.fromtimestamp(EDGE, tz=UTC).replace(minute=0, second=0)  # 2026-03-31 23:00
SETTLED = HOUR + timedelta(hours=1, seconds=SETTLE_SECONDS + 1)


def admit_and_drain(workspace, api_client, api_key, *, drain=True):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    for _ in range(K):
        response = api_client.post("/api/v1/analyze", {"text": "a b"}, format="json",
                                   HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
        assert response.status_code == HTTPStatus.OK
    if drain:
        drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)


def mismatches() -> float:
    return REGISTRY.get_sample_value("tollgate_usage_reconcile_mismatches_total") or 0.0


def audited(workspace) -> list[dict]:
    with schema_context(workspace.schema_name):
        return list(AuditEvent.objects.filter(action="usage_mismatch").values_list("details", flat=True))


def table(workspace) -> list[tuple]:
    with schema_context("public"):
        return list(UsageReconciliation.objects.filter(workspace_id=workspace.pk)
                    .values_list("hour", "admitted", "stored", "rolled_up", "status"))


def test_usage_reconcile_finds_the_hour_in_agreement(workspace, other_workspace, api_key, api_client, clock):
    # given K requests admitted and drained in one workspace, nothing in the other
    admit_and_drain(workspace, api_client, api_key)
    before = mismatches()
    # when the finished hour is reconciled for every workspace with a counter
    [result] = usage_reconcile(hour=HOUR, now=SETTLED)
    # then only that workspace is checked, and admitted = stored = rolled up
    assert (result.workspace_id, result.admitted, result.stored, result.rolled_up, result.status) == (
        workspace.pk, K, K, K, "ok")
    assert table(workspace) == [(HOUR, K, K, K, "ok")]
    assert audited(workspace) == []
    assert mismatches() == before


def test_usage_reconcile_flags_an_event_deleted_from_the_raw_table_once(workspace, api_key, api_client, clock):
    # given K requests admitted and drained, then one raw event lost
    admit_and_drain(workspace, api_client, api_key)
    with schema_context(workspace.schema_name):
        lost = UsageEvent.objects.filter(meter="requests").order_by("event_id").first()
        UsageEvent.objects.filter(event_id=lost.event_id, meter="requests").delete()
    before = mismatches()
    # when the hour is reconciled, twice
    [result] = usage_reconcile(hour=HOUR, now=SETTLED)
    usage_reconcile(hour=HOUR, now=SETTLED + timedelta(minutes=5))
    # then it is a mismatch: recorded, counted and audited once
    assert (result.admitted, result.stored, result.rolled_up, result.status) == (K, K - 1, K, "mismatch")
    assert table(workspace) == [(HOUR, K, K - 1, K, "mismatch")]
    assert mismatches() - before == 1
    assert audited(workspace) == [{"hour": HOUR.isoformat(), "meter": "requests", "admitted": K, "stored": K - 1,
                                   "rolled_up": K}]


def test_usage_reconcile_waits_for_events_still_in_flight(workspace, api_key, api_client):
    # given K requests admitted this hour (the real clock: stream entry ids are Redis's time)
    # and not drained yet
    hour = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    admit_and_drain(workspace, api_client, api_key, drain=False)
    # when the hour is reconciled before it has ended, and after it but with the stream not drained
    early = usage_reconcile(hour=hour, now=hour + timedelta(minutes=59), workspaces=[workspace])
    late = usage_reconcile(hour=hour, now=hour + timedelta(hours=1, seconds=SETTLE_SECONDS + 1),
                           workspaces=[workspace])
    # then neither is a verdict: nothing recorded, nothing flagged
    assert [r.status for r in early + late] == ["unsettled", "unsettled"]
    assert table(workspace) == []
    assert audited(workspace) == []


def test_reconcile_usage_command_prints_the_table(workspace, api_key, api_client, clock):
    # given K requests admitted and drained, and metering's clock past the hour
    admit_and_drain(workspace, api_client, api_key)
    clock.at = SETTLED.timestamp()
    # when
    out = io.StringIO()
    call_command("reconcile_usage", workspace="acme", hour="2026-03-31T23:00", stdout=out)
    # then one row per workspace: admitted, stored, rolled up, status
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["workspace", "hour", "(UTC)", "admitted", "stored", "rolled", "up", "status"]
    assert lines[1].split() == ["acme", "2026-03-31", "23:00", str(K), str(K), str(K), "ok"]
    assert lines[-1] == "1 checked, 0 mismatched."
