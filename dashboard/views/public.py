"""The public site's pages that need more than accounts: signup with the plan to start on
(plans are billing's), and the legal pages written with the operator's name and contact."""

import logging

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.shortcuts import render
from django.utils.dateparse import parse_date

from accounts import services as account_services
from accounts import throttle
from accounts.errors import SignupInvalid
from accounts.forms import ConfirmForm, apply_domain_error
from accounts.views.public import hand_off
from billing import selectors as billing_selectors
from billing import services as billing_services
from core.errors import DomainError
from dashboard.forms import PlanSignupForm

logger = logging.getLogger(__name__)


def _plan_form(request) -> PlanSignupForm:
    plans = billing_selectors.plans_public()
    default = billing_selectors.plan_default()
    wanted = request.GET.get("plan", "")
    initial = wanted if any(p.slug == wanted for p in plans) else (default.slug if default else "")
    return PlanSignupForm(request.POST or None, plans=plans, initial_plan=initial)


def signup(request):
    form = _plan_form(request)
    if request.method == "POST":
        refused = throttle.signup_check(request)
        if refused is not None:
            return refused
        if form.is_valid():
            try:
                account_services.signup_request(**form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                # The same page whether or not the address has an account (accounts.services.signup_request).
                return render(request, "public/signup_sent.html", {"email": form.cleaned_data["email"].strip()})
    return render(request, "public/signup.html", {"form": form}, status=400 if form.errors else 200)


def signup_confirm(request, token):
    """The emailed link: one click creates the account and workspace, puts it on the plan chosen
    at signup, and signs in there. A button, not the GET itself: mail scanners open links."""
    try:
        pending = account_services.signup_check(token=token)
    except SignupInvalid as exc:
        return render(request, "public/signup_invalid.html", {"message": exc.detail}, status=400)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    plan = billing_selectors.plan_get(slug=pending.plan) if pending.plan else None
    if request.method == "POST" and form.is_valid():
        try:
            user, workspace = account_services.signup_confirm(token=token)
        except SignupInvalid as exc:
            return render(request, "public/signup_invalid.html", {"message": exc.detail}, status=400)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if plan is not None:
                # After the signup's own transaction: a plan retired meanwhile leaves the new
                # workspace on the default plan rather than undoing the signup.
                try:
                    billing_services.subscription_set_plan(workspace=workspace, plan_slug=plan.slug, actor=user)
                except DomainError:
                    logger.warning("signup of %s: plan %s is no longer offered", workspace.slug, plan.slug)
            return hand_off(request, user=user, workspace=workspace)
    context = {"pending": pending, "plan": plan, "form": form, "host": f"{pending.slug}.{settings.BASE_DOMAIN}"}
    return render(request, "public/signup_confirm.html", context, status=400 if form.errors else 200)


def _legal(request, template: str):
    context = {"updated": parse_date(settings.TOLLGATE_LEGAL_UPDATED),
               "usage_days": settings.USAGE_RAW_RETENTION_DAYS, "audit_days": settings.AUDIT_RETENTION_DAYS}
    return render(request, template, context)


def legal_terms(request):
    return _legal(request, "legal/terms.html")


def legal_privacy(request):
    return _legal(request, "legal/privacy.html")
