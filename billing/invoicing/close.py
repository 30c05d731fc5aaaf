"""The period close, manual invoices and the preview.

The close (billing.tasks.close_periods, every few minutes) does two things, each in one
transaction under one advisory lock, so two workers or a retried run do the work once:

1. opens a draft for every subscribed workspace whose month ended and has none (the unique
   constraint one_period_invoice is the backstop: a second run finds them and adds nothing);
2. finalises the drafts whose draft window (BILLING_INVOICE_DRAFT_WINDOW_SECONDS after the
   period's end) has passed: their lines are rated again from the daily totals as they stand
   (events that arrived in the window count), numbered, and never changed again. Usage that
   lands later becomes an adjustment line on the workspace's next invoice.

With Stripe configured, each finalised invoice's overage is handed to the Stripe side
(billing.stripe.invoice_items_push, with idempotency keys) after the commit; without it the
invoice is computed, shown and marked "not collected".
"""

import importlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from auditing.services import record
from billing import selectors
from billing.catalogue import terms_for
from billing.invoicing import build, periods
from billing.metrics import INVOICES
from billing.models import Invoice, InvoiceLine, Plan, Subscription
from billing.rating import Rated
from core.errors import InvalidInput
from core.types import Actor
from tenants.models import Workspace

logger = logging.getLogger(__name__)
_LOCK = "billing-period-close"


def stripe_configured() -> bool:
    """Whether payments are collected through Stripe: the Stripe side's one rule (STRIPE_SECRET_KEY)."""
    from billing.stripe import client

    return client.configured()


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_LOCK])


@dataclass
class CloseReport:
    opened: int = 0
    finalised: int = 0


def invoices_open(*, period_start: date, period_end: date, workspace_ids: list[int] | None = None) -> int:
    """Draft invoices for the period for every workspace subscribed before it ended that has
    none. Returns how many were made. `workspace_ids` (the demo, an operator's rerun): only
    these, subscribed whenever."""
    with transaction.atomic(durable=True):
        _lock()
        have = set(Invoice.objects.filter(kind=Invoice.Kind.PERIOD, period_start=period_start)
                   .values_list("workspace_id", flat=True))
        candidates = Subscription.objects.select_related("plan").order_by("workspace_id")
        if workspace_ids is None:
            candidates = candidates.filter(started_at__lt=periods.at_midnight(period_end))
        else:
            candidates = candidates.filter(workspace_id__in=workspace_ids)
        subs = [s for s in candidates
                if s.workspace_id not in have and not (s.status == Subscription.Status.CANCELED
                                                       and s.updated_at < periods.at_midnight(period_start))]
        if not subs:
            return 0
        ids = [s.workspace_id for s in subs]
        usage = build.usage_totals(workspace_ids=ids, start=period_start, end=period_end)
        late = build.late_usage(workspace_ids=ids, before=period_start)
        invoices, rated = [], []
        for sub in subs:
            terms = build.terms_of(sub=sub, start=period_start)
            result = build.rate_period(terms=terms, usage=usage.get(sub.workspace_id, {}),
                                       late=late.get(sub.workspace_id))
            invoices.append(Invoice(workspace_id=sub.workspace_id, period_start=period_start, period_end=period_end,
                                    currency=terms.currency, total_cents=result.total,
                                    credit_carried_cents=result.credit_carried, terms=terms.snapshot(),
                                    usage=usage.get(sub.workspace_id, {})))
            rated.append(result)
        Invoice.objects.bulk_create(invoices, batch_size=2000)
        build.lines_write([row for inv, r in zip(invoices, rated, strict=True) for row in build.line_rows(inv, r)])
    return len(invoices)


def invoices_finalise(*, now: datetime, workspace_ids: list[int] | None = None) -> list[int]:
    """Rate every draft whose window has passed once more, number and finalise it. Returns
    the ids finalised."""
    window = timedelta(seconds=settings.BILLING_INVOICE_DRAFT_WINDOW_SECONDS)
    due_before = (now - window).date()  # period_end is a date at 00:00 UTC
    collection = Invoice.Collection.PENDING if stripe_configured() else Invoice.Collection.NOT_COLLECTED
    with transaction.atomic(durable=True):
        _lock()
        due = Invoice.objects.select_for_update().filter(kind=Invoice.Kind.PERIOD, status=Invoice.Status.DRAFT,
                                                         period_end__lte=due_before)
        if workspace_ids is not None:
            due = due.filter(workspace_id__in=workspace_ids)
        drafts = list(due.order_by("pk"))
        drafts = [d for d in drafts if periods.at_midnight(d.period_end) + window <= now]
        if not drafts:
            return []
        by_period: dict[tuple[date, date], list[Invoice]] = {}
        for d in drafts:
            by_period.setdefault((d.period_start, d.period_end), []).append(d)
        build.lines_delete([d.pk for d in drafts])
        lines: list[tuple] = []
        for (start, end), group in by_period.items():
            ids = [d.workspace_id for d in group]
            usage = build.usage_totals(workspace_ids=ids, start=start, end=end)
            late = build.late_usage(workspace_ids=ids, before=start)
            for d in group:
                # The terms stay those the draft was opened with: a plan edited in the window
                # doesn't reach an invoice already made.
                result = build.rate_period(terms=build.Terms.from_snapshot(d.terms),
                                           usage=usage.get(d.workspace_id, {}), late=late.get(d.workspace_id))
                d.usage = usage.get(d.workspace_id, {})
                d.total_cents, d.credit_carried_cents = result.total, result.credit_carried
                d.number = f"TG-{start:%Y%m}-{d.pk:06d}"
                lines += build.line_rows(d, result)
        build.lines_write(lines)
        build.invoices_write_final(drafts, status=Invoice.Status.FINALIZED, finalized_at=now, collection=collection)
        ids = [d.pk for d in drafts]
        if collection == Invoice.Collection.PENDING:
            transaction.on_commit(lambda: _collect(ids))
    INVOICES.inc(len(ids))
    return ids


PUSHED_KINDS = ("overage", "adjustment")


def _collect(invoice_ids: list[int]) -> None:
    """Hand finalised invoices to the Stripe side, which pushes their overage as invoice items
    with idempotency keys (a retried push charges once). Until that module exists, collection
    is left to it: the invoices stay "pending"."""
    try:
        stripe_side = importlib.import_module("billing.stripe")
    except ModuleNotFoundError:
        logger.info("billing.stripe is not installed: %s invoice(s) left pending", len(invoice_ids))
        return
    for invoice in Invoice.objects.filter(pk__in=invoice_ids).select_related("workspace").order_by("pk"):
        # The subscription's own Stripe invoice charges the base fee; what usage adds (overage,
        # adjustments of earlier periods) goes on it as items, keyed by invoice and line so a
        # retried push charges once.
        lines = [stripe_side.ItemLine(description=f"{invoice.number}: {line.description}", amount_cents=line.amount_cents,
                                      idempotency_key=f"invoice-{invoice.pk}-line-{line.position}")
                 for line in invoice.lines.order_by("position") if line.kind in PUSHED_KINDS]
        try:
            stripe_side.invoice_items_push(workspace=invoice.workspace, lines=lines, currency=invoice.currency)
        except Exception:
            # One workspace's failure must not stop the others; the invoice stays pending
            # and the push is retried by the Stripe side's own job.
            logger.exception("pushing invoice %s to Stripe failed", invoice.number)


def period_close(*, now: datetime) -> CloseReport:
    """Open drafts for the month that ended before `now`, and finalise drafts past their window."""
    start, end = periods.previous(now.date())
    report = CloseReport(opened=invoices_open(period_start=start, period_end=end))
    report.finalised = len(invoices_finalise(now=now))
    return report


def invoice_create_manual(*, workspace: Workspace, description: str, amount_cents: int, actor: Actor = None,
                          now: datetime | None = None) -> Invoice:
    """A one-off invoice an operator issues (a setup fee, a goodwill credit as a negative
    amount is refused: credits go on the next period invoice). Finalised at once.

    Raises InvalidInput for an empty description or an amount that is not a positive whole
    number of cents.
    """
    description = (description or "").strip()
    if not description or len(description) > 300:
        raise InvalidInput("Describe what the invoice is for (up to 300 characters).", field="description")
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or not 0 < amount_cents <= 10**10:
        raise InvalidInput("The amount is a positive whole number of cents.", field="amount_cents")
    now = now or timezone.now()
    start, end = periods.month_of(now.date())
    collection = Invoice.Collection.PENDING if stripe_configured() else Invoice.Collection.NOT_COLLECTED
    with transaction.atomic(durable=True):
        invoice = Invoice.objects.create(workspace=workspace, kind=Invoice.Kind.MANUAL, period_start=start,
                                         period_end=end, status=Invoice.Status.FINALIZED, collection=collection,
                                         total_cents=amount_cents, finalized_at=now, memo=description,
                                         terms={"manual": True})
        invoice.number = f"TG-{start:%Y%m}-{invoice.pk:06d}"
        invoice.save(update_fields=["number"])
        InvoiceLine.objects.create(invoice=invoice, position=0, kind="manual", description=description,
                                   quantity=1, unit_amount=amount_cents, amount_cents=amount_cents)
        record(action="invoice_created", actor=actor, resource=invoice, workspace=workspace,
               details={"number": invoice.number, "amount_cents": amount_cents, "kind": "manual"})
    return invoice


@dataclass
class Preview:
    period_start: date
    period_end: date
    plan: Plan
    usage: dict[str, int]
    rated: Rated


def invoice_preview(*, workspace: Workspace, plan: Plan | None = None, today: date | None = None) -> Preview:
    """The current month's invoice as it stands (usage so far, from the daily totals), on the
    workspace's plan or on `plan` (what this month would cost there, the same usage)."""
    today = today or timezone.now().date()
    start, end = periods.month_of(today)
    sub = selectors.subscription_for(workspace=workspace)
    usage = build.usage_totals(workspace_ids=[workspace.pk], start=start, end=end).get(workspace.pk, {})
    late = build.late_usage(workspace_ids=[workspace.pk], before=start).get(workspace.pk, [])
    if plan is None and sub is not None:
        terms, plan = build.terms_of(sub=sub, start=start), sub.plan
    else:
        plan = plan or selectors.plan_default()
        if plan is None:
            raise InvalidInput("There is no plan to preview.", field="plan")
        interval = selectors.subscription_interval(sub=sub) if sub is not None else "month"
        terms = terms_for(plan, interval, base_fee=plan.annual_price_cents if interval == "year" else None)
    return Preview(start, end, plan, usage, build.rate_period(terms=terms, usage=usage, late=late))

