"""Dashboard billing pages on the workspace host (/billing/, an invoice), and the public pricing page."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import member_required
from accounts.forms import apply_domain_error
from accounts.permissions import can
from billing import selectors, services
from billing.api import plan_data
from billing.catalogue import included_for
from billing.invoicing.close import invoice_preview, stripe_configured
from core.errors import DomainError


def _dollars(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f}"


class SpendCapForm(forms.Form):
    cap = forms.DecimalField(required=False, min_value=0, max_value=1_000_000, decimal_places=2, label="Spend cap (USD a month)",
                             help_text="Overage allowed each month on top of the plan's price. Past it, metered "
                                       "requests are refused until the month ends. Empty: no cap.")

    def cap_cents(self) -> int | None:
        value = self.cleaned_data.get("cap")
        return None if value is None else int(value * 100)


def _context(request, form: SpendCapForm | None = None) -> dict:
    workspace = request.tenant
    sub = selectors.subscription_for(workspace=workspace)
    plan = sub.plan if sub else selectors.plan_default()
    preview = invoice_preview(workspace=workspace)
    interval = selectors.subscription_interval(sub=sub) if sub else "month"
    included = included_for(plan, interval) if plan else {}
    usage_rows = [{"meter": m, "used": preview.usage.get(m, 0), "included": included.get(m),
                   "overage": m in (plan.overage or {}) if plan else False}
                  for m in sorted(set(included) | set(preview.usage))]
    cap = sub.spend_cap_cents if sub else None
    return {
        "sub": sub, "plan": plan, "interval": interval, "preview": preview, "usage_rows": usage_rows,
        "invoices": selectors.invoices_for(workspace=workspace),
        "can_manage": can(request.membership.role, "billing.manage"),
        "spend_cap": cap, "cap_limits": (services.spend_cap_windows(plan=plan, interval=interval, spend_cap_cents=cap)
                                         if plan and cap is not None else {}),
        "form": form or SpendCapForm(initial={"cap": _dollars(cap) or None}),
        "stripe_configured": stripe_configured(),
        "plans": selectors.plans_public(),
    }


@member_required("billing.view")
def billing(request):
    return render(request, "billing/billing.html", _context(request))


@member_required("billing.manage")  # outside: another workspace's page is a 404 whatever the method
@require_POST
def spend_cap(request):
    form = SpendCapForm(request.POST)
    if form.is_valid():
        try:
            services.spend_cap_set(workspace=request.tenant, cap_cents=form.cap_cents(), actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            cap = form.cap_cents()
            messages.success(request, "Spend cap removed." if cap is None else f"Spend cap set to ${cap / 100:,.2f} a month.")
            return redirect("billing")
    return render(request, "billing/billing.html", _context(request, form), status=400)


@member_required("billing.view")
def invoice(request, invoice_id: int):
    row = selectors.invoice_get(workspace=request.tenant, invoice_id=invoice_id)
    if row is None:
        raise Http404
    return render(request, "billing/invoice.html", {"invoice": row, "lines": row.line_rows,  # type: ignore[attr-defined]
                                                    "stripe_configured": stripe_configured()})


def pricing(request):
    return render(request, "public/pricing.html", {"plans": [plan_data(p) for p in selectors.plans_public()]})
