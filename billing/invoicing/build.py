"""What an invoice says, computed from metering's daily totals (public schema), in bulk: the
period close rates thousands of workspaces with a handful of queries (bench/billing/)."""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Sum
from django_tenants.utils import schema_context

from billing.catalogue import terms_for
from billing.invoicing import periods
from billing.models import Invoice, InvoiceLine, Subscription
from billing.rating import Line, Rated, Terms, overage_amount, rate
from billing.selectors import subscription_interval
from metering.models import UsageDaily

# How far back usage recorded after an invoice was finalised is still carried onto the next:
# raw events older than that are gone (TOLLGATE_USAGE_RAW_RETENTION_DAYS), so nothing older
# can arrive late.
ADJUST_MONTHS = 3


def usage_totals(*, workspace_ids: Iterable[int] | None, start: date, end: date) -> dict[int, dict[str, int]]:
    """Units per meter per workspace over [start, end) from the daily totals (None: every workspace).

    Read in the public schema whatever the request's tenant: metering is a tenant app too, so a
    workspace's own schema holds an empty table of the same name that would shadow it."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    with schema_context("public"):
        rows = UsageDaily.objects.filter(day__gte=start, day__lt=end)
        if workspace_ids is not None:
            rows = rows.filter(workspace_id__in=list(workspace_ids))
        for ws, meter, units in rows.values("workspace_id", "meter").annotate(u=Sum("units")).values_list(
                "workspace_id", "meter", "u"):
            out[ws][meter] = int(units or 0)
    return out


def terms_of(*, sub: Subscription, start: date) -> Terms:
    """The subscription's terms for the month starting `start`: the monthly price, or on an
    annual subscription the annual price in the month it renews (the month it started) and
    nothing in the others."""
    interval = subscription_interval(sub=sub)
    if interval == "year":
        due = start.month == sub.started_at.month
        return terms_for(sub.plan, interval, base_fee=sub.plan.annual_price_cents if due else 0)
    return terms_for(sub.plan, interval)


@dataclass
class LateUsage:
    """Usage of an earlier, finalised invoice's period recorded after it was finalised."""

    invoice: Invoice
    meter: str
    units: int  # not yet carried onto any invoice


def late_usage(*, workspace_ids: list[int], before: date, excluding: Iterable[int] = ()) -> dict[int, list[LateUsage]]:
    """Per workspace, units recorded for the periods of its finalised invoices (the last
    ADJUST_MONTHS before `before`) beyond what those invoices rated and what adjustments on
    later finalised invoices already carried. `excluding`: invoices whose own adjustment lines
    don't count (the draft being recomputed)."""
    lo = before
    for _ in range(ADJUST_MONTHS):
        lo = periods.previous(lo)[0]
    finalised = list(Invoice.objects.filter(workspace_id__in=workspace_ids, kind=Invoice.Kind.PERIOD,
                                            status=Invoice.Status.FINALIZED, period_start__gte=lo,
                                            period_end__lte=before))
    if not finalised:
        return {}
    carried: dict[tuple[int, str], int] = defaultdict(int)
    for meta in (InvoiceLine.objects.filter(invoice__workspace_id__in=workspace_ids, kind="adjustment",
                                            invoice__status=Invoice.Status.FINALIZED)
                 .exclude(invoice_id__in=list(excluding)).values_list("meta", flat=True)):
        carried[(meta["invoice_id"], meta["meter"])] += meta["units"]
    totals: dict[date, dict[int, dict[str, int]]] = {}
    out: dict[int, list[LateUsage]] = defaultdict(list)
    for invoice in finalised:
        if invoice.period_start not in totals:
            totals[invoice.period_start] = usage_totals(workspace_ids=workspace_ids, start=invoice.period_start,
                                                        end=invoice.period_end)
        now = totals[invoice.period_start].get(invoice.workspace_id, {})
        for meter in sorted(set(now) | set(invoice.usage)):
            units = now.get(meter, 0) - int(invoice.usage.get(meter, 0)) - carried[(invoice.pk, meter)]
            if units:
                out[invoice.workspace_id].append(LateUsage(invoice, meter, units))
    return out


def adjustment_lines(late: list[LateUsage]) -> list[Line]:
    """Lines for usage recorded late, rated at the terms of the invoice it belongs to (a price
    changed since never applies to it): the overage it adds, 0 when it stays within the included."""
    lines = []
    for item in late:
        terms = Terms.from_snapshot(item.invoice.terms)
        rated_units = int(item.invoice.usage.get(item.meter, 0))
        spec, included = terms.overage.get(item.meter), terms.included.get(item.meter, 0)
        amount = 0
        if spec is not None:
            amount = (overage_amount(spec, max(0, rated_units + item.units - included))
                      - overage_amount(spec, max(0, rated_units - included)))
        lines.append(Line("adjustment", f"{item.meter}: {item.units:,} recorded after invoice {item.invoice.number} "
                                        f"({periods.label(item.invoice.period_start)}) was finalised",
                          amount, meter=item.meter, quantity=item.units,
                          meta={"invoice_id": item.invoice.pk, "invoice": item.invoice.number, "meter": item.meter,
                                "units": item.units}))
    return lines


def rate_period(*, terms: Terms, usage: Mapping[str, int], late: list[LateUsage] | None = None) -> Rated:
    from django.conf import settings

    return rate(terms, usage, adjustments=adjustment_lines(late or []), tax_rate_bps=settings.BILLING_TAX_RATE_BPS)


LINE_COLUMNS = ("invoice_id", "position", "kind", "description", "meter", "quantity", "unit_amount", "per",
                "amount_cents", "meta")
_COPY_LINES = f"COPY {InvoiceLine._meta.db_table} ({', '.join(LINE_COLUMNS)}) FROM STDIN"


def line_rows(invoice: Invoice, rated: Rated) -> list[tuple]:
    """The invoice's lines as rows of LINE_COLUMNS (for lines_write)."""
    return [(invoice.pk, i, li.kind, li.description[:300], li.meter, li.quantity, li.unit_amount, li.per, li.amount,
             json.dumps(dict(li.meta))) for i, li in enumerate(rated.lines)]


def lines_write(rows: list[tuple]) -> None:
    """Insert invoice lines with COPY, in the caller's transaction: the period close writes
    tens of thousands (an INSERT of that many rows costs several times more: bench/billing/)."""
    if not rows:
        return
    with connection.cursor() as cursor, cursor.copy(_COPY_LINES) as copy:
        for row in rows:
            copy.write_row(row)


def lines_delete(invoice_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {InvoiceLine._meta.db_table} WHERE invoice_id = ANY(%s)", [invoice_ids])  # noqa: S608


_FINALISE = (f"UPDATE {Invoice._meta.db_table} AS i SET usage = v.usage, total_cents = v.total, "  # noqa: S608 - constants
             "credit_carried_cents = v.carried, number = v.number, status = %s, finalized_at = %s, collection = %s "
             "FROM unnest(%s::bigint[], %s::jsonb[], %s::bigint[], %s::bigint[], %s::varchar[]) "
             "AS v(id, usage, total, carried, number) WHERE i.id = v.id")


def invoices_write_final(invoices: list[Invoice], *, status: str, finalized_at, collection: str) -> None:
    """Write the finalised invoices' figures in one UPDATE (Django's bulk_update builds a CASE per
    row and field: 25 s for 1,000 invoices here, bench/billing/)."""
    with connection.cursor() as cursor:
        cursor.execute(_FINALISE, [status, finalized_at, collection, [i.pk for i in invoices],
                                   [json.dumps(i.usage) for i in invoices], [i.total_cents for i in invoices],
                                   [i.credit_carried_cents for i in invoices], [i.number for i in invoices]])
