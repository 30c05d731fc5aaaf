"""The public site's pages: landing, signup and its emailed link, the workspace list, the handoff."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services, throttle
from accounts.errors import SignupInvalid
from accounts.forms import ConfirmForm, SignupForm, apply_domain_error
from core.errors import DomainError
from tenants.selectors import workspace_get, workspace_url


def _hand_off(request, *, user, workspace):
    """Send the browser on to the workspace's own host, where the one-time link signs it in.

    Not a redirect from the POST: our CSP's `form-action 'self'` also governs where a
    form's response redirects, so browsers refuse a 302 to the workspace's origin. The
    POST answers with a page that moves on by itself (meta refresh; no script under CSP).
    """
    token = services.handoff_issue(user=user, workspace=workspace)
    url = workspace_url(workspace, f"/auth/handoff/{token}/")
    return render(request, "public/continue.html", {"url": url, "workspace": workspace})


def landing(request):
    return render(request, "public/landing.html")


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        refused = throttle.signup_check(request)
        if refused is not None:
            return refused
        if form.is_valid():
            try:
                services.signup_request(**form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                # The same page whether or not the address has an account (services.signup_request).
                return render(request, "public/signup_sent.html", {"email": form.cleaned_data["email"].strip()})
    return render(request, "public/signup.html", {"form": form}, status=400 if form.errors else 200)


def signup_confirm(request, token):
    """The emailed link: one click creates the account and workspace and signs in there.

    A button, not the GET itself: mail scanners open links, and one must not use up the
    link (or get signed in) in place of the person.
    """
    try:
        pending = services.signup_check(token=token)
    except SignupInvalid as exc:
        return render(request, "public/signup_invalid.html", {"message": exc.detail}, status=400)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user, workspace = services.signup_confirm(token=token)
        except SignupInvalid as exc:
            return render(request, "public/signup_invalid.html", {"message": exc.detail}, status=400)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return _hand_off(request, user=user, workspace=workspace)
    context = {"pending": pending, "form": form, "host": f"{pending.slug}.{settings.BASE_DOMAIN}"}
    return render(request, "public/signup_confirm.html", context, status=400 if form.errors else 200)


@login_required
def workspaces(request):
    return render(request, "public/workspaces.html", {"memberships": selectors.workspaces_of(user=request.user)})


@login_required
@require_POST
def go(request, slug):
    workspace = workspace_get(slug=slug)
    membership = selectors.membership_for(user=request.user, workspace=workspace) if workspace else None
    if workspace is None or membership is None or not membership.is_active or not workspace.is_active:
        raise Http404
    return _hand_off(request, user=request.user, workspace=workspace)


def handoff(request, token):
    user = services.handoff_redeem(token=token, workspace=request.tenant)
    if user is None:
        messages.error(request, "That sign-in link has expired. Log in here instead.")
        return redirect("login")
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("home")
