#!/usr/bin/env python
"""Period close at scale: N subscribed workspaces with a month of daily totals, closed.

    .venv/bin/python scripts/devservices.py -- .venv/bin/python bench/billing/close.py [N]

Setup (not timed): N workspace rows `bclose-NNNNN` (rows only, no schema: the close reads and
writes only the public schema: subscriptions, daily totals, invoices), a subscription each
(Free, Startup, Pro, Enterprise in turn), and 30 daily totals for two meters each (requests,
analysis_runs; N x 60 rows of metering_usagedaily), for November 2026. Any November invoices of
those workspaces from an earlier run are deleted first.

Timed: billing.invoicing.close.invoices_open (drafts for all N) and invoices_finalise (rated
again, numbered, finalised; draft window 0), as the beat job runs them; then the same close
again (must add nothing). Prints one JSON object. Uses DATABASE_URL (migrated; embedded under
devservices).
"""

import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from billing.invoicing.close import invoices_finalise, invoices_open  # noqa: E402
from billing.models import Invoice, InvoiceLine, Subscription  # noqa: E402
from billing.services import catalogue_ensure  # noqa: E402
from tenants.models import Workspace  # noqa: E402

START, END = date(2026, 11, 1), date(2026, 12, 1)
PLANS = ("free", "startup", "pro", "enterprise")


def setup(n: int) -> list[int]:
    plans = {p.slug: p for p in catalogue_ensure()}
    slugs = [f"bclose-{i:05d}" for i in range(n)]
    with transaction.atomic():
        have = set(Workspace.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        Workspace.objects.bulk_create([Workspace(name=s, slug=s, schema_name=Workspace.schema_name_for(s))
                                       for s in slugs if s not in have], batch_size=2000)
        ids = dict(Workspace.objects.filter(slug__in=slugs).values_list("slug", "pk"))
        subscribed = set(Subscription.objects.filter(workspace_id__in=ids.values()).values_list("workspace_id", flat=True))
        Subscription.objects.bulk_create([Subscription(workspace_id=ids[s], plan=plans[PLANS[i % 4]])
                                          for i, s in enumerate(slugs) if ids[s] not in subscribed], batch_size=2000)
        Subscription.objects.filter(workspace_id__in=ids.values()).update(started_at=datetime(2026, 1, 1, tzinfo=UTC))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM metering_usagedaily WHERE workspace_id = ANY(%s) AND day >= %s AND day < %s",
                           [list(ids.values()), START, END])
            # 30 days x 2 meters per workspace; requests around 40,000-60,000 a day (Pro and
            # Enterprise go past their included), analysis runs a few a day.
            cursor.execute("""
                INSERT INTO metering_usagedaily (workspace_id, day, meter, events, units, errors)
                SELECT w, d::date, m, u, u, 0 FROM unnest(%s::bigint[]) AS w,
                       generate_series(%s::date, %s::date - 1, interval '1 day') AS d,
                       unnest(ARRAY['requests', 'analysis_runs']) AS m,
                       LATERAL (SELECT CASE WHEN m = 'requests'
                                            THEN 40000 + (w * 7919 + extract(day from d)::int * 104729) %% 20000
                                            ELSE (w + extract(day from d)::int) %% 7 END AS u) AS x
            """, [list(ids.values()), START, END])
        old = Invoice.objects.filter(workspace_id__in=ids.values(), period_start=START)
        InvoiceLine.objects.filter(invoice__in=old).delete()
        old.delete()
    return list(ids.values())


def main(n: int) -> None:
    ids = setup(n)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE metering_usagedaily; ANALYZE billing_invoice; ANALYZE billing_invoiceline")
    settings.BILLING_INVOICE_DRAFT_WINDOW_SECONDS = 0
    now = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    t0 = time.perf_counter()
    opened = invoices_open(period_start=START, period_end=END)
    t1 = time.perf_counter()
    finalised = invoices_finalise(now=now + timedelta(seconds=1))
    t2 = time.perf_counter()
    again = invoices_open(period_start=START, period_end=END), len(invoices_finalise(now=now + timedelta(seconds=2)))
    t3 = time.perf_counter()
    mine = Invoice.objects.filter(workspace_id__in=ids, period_start=START)
    print(json.dumps({
        "workspaces": n, "opened": opened, "finalised": len(finalised), "rerun_added": list(again),
        "invoices": mine.count(), "lines": InvoiceLine.objects.filter(invoice__in=mine).count(),
        "open_s": round(t1 - t0, 2), "finalise_s": round(t2 - t1, 2), "close_s": round(t2 - t0, 2),
        "rerun_s": round(t3 - t2, 2), "load_average": os.getloadavg(),
    }))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
