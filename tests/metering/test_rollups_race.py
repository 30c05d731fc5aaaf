"""Two drains storing into the same hour of one workspace at once: the rollup of that hour
counts both. These tests commit (two connections must see each other's work), so the
workspace is made here and its schema dropped after."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from metering.models import UsageHourly
from metering.pipeline.drain import usage_events_store
from metering.pipeline.partitions import month_of, partitions_ensure
from tests.conftest import make_workspace

pytestmark = pytest.mark.django_db(transaction=True, available_apps=settings.INSTALLED_APPS)

HOUR = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)


def rows(prefix: str, n: int) -> list[tuple]:
    return [(f"{prefix}-{i}", f"rid-{prefix}-{i}", "k1", "/api/v1/analyze", "requests", 1, "admitted",
             HOUR + timedelta(seconds=i)) for i in range(n)]


@pytest.fixture
def racer():
    workspace = make_workspace("racer")
    with transaction.atomic():
        partitions_ensure(schema_name=workspace.schema_name, months=[month_of(HOUR)])
    yield workspace
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{workspace.schema_name}" CASCADE')


def waiting_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


def test_usage_events_store_two_drains_in_one_hour_roll_up_both(racer):
    # given a drain that has stored 3 events of an hour and not committed yet
    stored, release, errors = threading.Event(), threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                usage_events_store(workspace_id=racer.pk, schema_name=racer.schema_name, rows=rows("a", 3))
                stored.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
            stored.set()
        finally:
            connection.close()

    def second():
        try:
            usage_events_store(workspace_id=racer.pk, schema_name=racer.schema_name, rows=rows("b", 2))
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=first)
    a.start()
    assert stored.wait(30)
    # when a second drain stores 2 more of the same hour meanwhile (it is seen waiting on the
    # first before the first commits: no timing guess)
    b = threading.Thread(target=second)
    b.start()
    deadline = time.monotonic() + 30
    while waiting_backends() == 0 and b.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    a.join(30)
    b.join(30)
    # then both committed and the hour's rollup counts all 5
    assert errors == []
    with schema_context(racer.schema_name):
        assert list(UsageHourly.objects.values_list("hour", "events", "units")) == [(HOUR, 5, 5)]
