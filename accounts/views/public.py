"""The public site's pages: landing, the workspace list, the handoff. Signup, which needs the plans
(billing's), is dashboard.views.public's."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from tenants.selectors import workspace_get, workspace_url


def hand_off(request, *, user, workspace):
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
    return hand_off(request, user=request.user, workspace=workspace)


def handoff(request, token):
    user = services.handoff_redeem(token=token, workspace=request.tenant)
    if user is None:
        messages.error(request, "That sign-in link has expired. Log in here instead.")
        return redirect("login")
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("home")
