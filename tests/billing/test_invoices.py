"""The period close: drafts, the draft window, finalisation, late usage, idempotency, offline."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from billing.invoicing.close import invoice_create_manual, invoices_finalise, period_close
from billing.models import Invoice, Plan
from core.errors import InvalidInput
from tests.billing.conftest import subscribe, usage

NOV = date(2026, 11, 1)
CLOSED = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)  # ten minutes after November ended
PAST_WINDOW = CLOSED + timedelta(hours=1)


def lines_of(invoice):
    return [(li.kind, li.amount_cents) for li in invoice.lines.order_by("position")]


def test_period_close_opens_a_draft_then_finalises_after_the_window(workspace, catalogue, settings):
    # given a Pro workspace with 1,234,567 requests in November
    settings.BILLING_INVOICE_DRAFT_WINDOW_SECONDS = 3600
    subscribe(workspace, "pro")
    usage(workspace, date(2026, 11, 3), "requests", 1_000_000)
    usage(workspace, date(2026, 11, 30), "requests", 234_567)
    # when the period closes
    report = period_close(now=CLOSED)
    # then a draft exists, not numbered, rated as it stands
    invoice = Invoice.objects.get(workspace=workspace)
    assert (report.opened, report.finalised) == (1, 0)
    assert invoice.status == "draft" and invoice.number is None
    assert invoice.total_cents == 9900 + 1175
    # when an event of November lands inside the draft window, and the window passes
    usage(workspace, date(2026, 11, 30), "requests", 234_567 + 1000)
    report = period_close(now=PAST_WINDOW)
    # then the invoice is finalised with the late event counted
    invoice.refresh_from_db()
    assert report.finalised == 1
    assert invoice.status == "finalized" and invoice.number == f"TG-202611-{invoice.pk:06d}"
    assert invoice.usage == {"requests": 1_235_567}
    assert lines_of(invoice) == [("base", 9900), ("included", 0), ("included", 0), ("overage", 1180), ("tax", 0)]
    assert invoice.total_cents == 11_080 == sum(a for _, a in lines_of(invoice))


def test_period_close_twice_makes_one_invoice(workspace, other_workspace, catalogue):
    subscribe(workspace, "pro")
    subscribe(other_workspace, "startup")
    period_close(now=PAST_WINDOW)
    period_close(now=PAST_WINDOW)
    period_close(now=PAST_WINDOW + timedelta(days=3))
    assert Invoice.objects.filter(period_start=NOV).count() == 2
    assert sorted(Invoice.objects.values_list("workspace_id", flat=True)) == sorted([workspace.pk, other_workspace.pk])


def test_one_period_invoice_per_workspace_is_a_constraint(workspace, catalogue):
    subscribe(workspace, "pro")
    period_close(now=CLOSED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(workspace=workspace, period_start=NOV, period_end=date(2026, 12, 1))


def test_late_usage_after_finalisation_is_an_adjustment_on_the_next_invoice(workspace, catalogue):
    # given November finalised with 1,100,000 requests
    subscribe(workspace, "pro")
    usage(workspace, date(2026, 11, 10), "requests", 1_100_000)
    period_close(now=PAST_WINDOW)
    november = Invoice.objects.get(workspace=workspace, period_start=NOV)
    before = (november.total_cents, lines_of(november))
    # when 50,000 more November requests are recorded after it was finalised (a drain catching up)
    usage(workspace, date(2026, 11, 10), "requests", 1_150_000)
    period_close(now=datetime(2027, 1, 1, 2, tzinfo=UTC))
    # then November is unchanged, and December carries an adjustment rated at November's terms
    november.refresh_from_db()
    assert (november.total_cents, lines_of(november)) == before
    december = Invoice.objects.get(workspace=workspace, period_start=date(2026, 12, 1))
    adjustment = december.lines.get(kind="adjustment")
    assert adjustment.amount_cents == 250  # 50 packages of 1,000 at 5 cents
    assert adjustment.meta["invoice"] == november.number and adjustment.meta["units"] == 50_000
    # and the next close does not carry it again
    period_close(now=datetime(2027, 2, 1, 2, tzinfo=UTC))
    january = Invoice.objects.get(workspace=workspace, period_start=date(2027, 1, 1))
    assert not january.lines.filter(kind="adjustment").exists()


def test_a_price_change_never_rewrites_an_issued_invoice(workspace, catalogue):
    subscribe(workspace, "pro")
    usage(workspace, date(2026, 11, 10), "requests", 1_002_000)
    period_close(now=PAST_WINDOW)
    Plan.objects.filter(slug="pro").update(monthly_price_cents=19900,
                                           overage={"requests": {"model": "per_unit", "unit_amount": 1}})
    invoice = Invoice.objects.get(workspace=workspace)
    assert invoice.total_cents == 9900 + 10
    assert invoice.terms["base_fee"] == 9900 and invoice.terms["overage"]["requests"]["model"] == "package"


def test_plan_edited_during_the_draft_window_does_not_reach_the_draft(workspace, catalogue):
    subscribe(workspace, "pro")
    period_close(now=CLOSED)
    Plan.objects.filter(slug="pro").update(monthly_price_cents=19900)
    period_close(now=PAST_WINDOW)
    assert Invoice.objects.get(workspace=workspace).total_cents == 9900


def test_offline_invoices_are_not_collected(workspace, catalogue, settings):
    settings.STRIPE_SECRET_KEY = ""
    subscribe(workspace, "startup")
    period_close(now=PAST_WINDOW)
    assert Invoice.objects.get(workspace=workspace).collection == "not_collected"


def test_with_stripe_configured_finalised_invoices_wait_for_collection(workspace, catalogue, settings, committed):
    settings.STRIPE_SECRET_KEY = "sk_test_" + "a" * 24
    subscribe(workspace, "startup")
    with committed():
        period_close(now=PAST_WINDOW)
    assert Invoice.objects.get(workspace=workspace).collection == "pending"


def test_workspaces_subscribed_after_the_period_get_no_invoice_for_it(workspace, catalogue):
    subscribe(workspace, "pro", since=datetime(2026, 12, 2, tzinfo=UTC))
    assert period_close(now=PAST_WINDOW).opened == 0


def test_finalise_leaves_drafts_inside_their_window(workspace, catalogue):
    subscribe(workspace, "pro")
    period_close(now=CLOSED)
    assert invoices_finalise(now=CLOSED + timedelta(minutes=49)) == []
    assert Invoice.objects.get(workspace=workspace).status == "draft"


def test_invoice_create_manual_is_finalised_at_once(workspace, catalogue):
    invoice = invoice_create_manual(workspace=workspace, description="Onboarding", amount_cents=50_000,
                                    actor=("operator", None))
    assert invoice.status == "finalized" and invoice.number and lines_of(invoice) == [("manual", 50_000)]


@pytest.mark.parametrize(("description", "amount"), [("", 100), ("Setup", 0), ("Setup", -5), ("Setup", 1.5)])
def test_invoice_create_manual_refuses_bad_input(workspace, description, amount):
    with pytest.raises(InvalidInput):
        invoice_create_manual(workspace=workspace, description=description, amount_cents=amount)
    assert not Invoice.objects.exists()


def test_demo_last_month_invoice_is_made_once(workspace, catalogue):
    from dashboard.management.commands.demo import Command

    subscribe(workspace, "pro", since=datetime.now(tz=UTC))  # the demo subscribes just now
    Command()._last_month_invoice(workspace)
    Command()._last_month_invoice(workspace)
    [invoice] = Invoice.objects.filter(workspace=workspace)
    assert invoice.status == "finalized" and invoice.kind == "period"
