"""Settings: the workspace (its name; the danger zone, owners only) and your own account (name,
password, signed-in sessions). Each form posts to its own URL and, when refused, the page comes
back with the errors next to the fields (400)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.decorators import member_required
from accounts.forms import apply_domain_error
from accounts.permissions import can
from core.errors import DomainError
from dashboard.forms import DeleteWorkspaceForm, PasswordForm, ProfileForm, WorkspaceNameForm
from tenants import services as tenant_services
from tenants.selectors import workspace_url


def _page(request, *, status: int = 200, **forms):
    workspace = request.tenant
    is_owner = can(request.membership.role, "workspace.manage")
    context = {
        "workspace_form": forms.get("workspace_form") or WorkspaceNameForm(initial={"name": workspace.name}),
        "profile_form": forms.get("profile_form") or ProfileForm(initial={"full_name": request.user.full_name}),
        "password_form": forms.get("password_form") or PasswordForm(user=request.user),
        "delete_form": forms.get("delete_form") or DeleteWorkspaceForm(),
        "is_owner": is_owner,
        "sessions": account_selectors.user_session_list(user=request.user),
        "current_session": request.session.session_key,
    }
    return render(request, "dashboard/settings.html", context, status=status)


@member_required()
def settings_page(request):
    return _page(request)


@member_required("workspace.manage")
@require_POST
def settings_workspace(request):
    form = WorkspaceNameForm(request.POST)
    if form.is_valid():
        try:
            tenant_services.workspace_rename(workspace=request.tenant, name=form.cleaned_data["name"],
                                             actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, f"The workspace is now called {request.tenant.name}.")
            return redirect("settings")
    return _page(request, workspace_form=form, status=400)


@member_required()
@require_POST
def settings_profile(request):
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            account_services.user_update_profile(user=request.user, full_name=form.cleaned_data["full_name"],
                                                 workspace=request.tenant)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, "Your name is saved.")
            return redirect("settings")
    return _page(request, profile_form=form, status=400)


@member_required()
@require_POST
def settings_password(request):
    form = PasswordForm(user=request.user, data=request.POST)
    if form.is_valid():
        try:
            ended = account_services.user_change_password(
                user=request.user, old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"], keep_session_key=request.session.session_key,
                workspace=request.tenant)
        except DomainError as exc:
            field = {"old_password": "old_password", "new_password": "new_password2"}.get(str(exc.extra.get("field") or ""))
            form.add_error(field, exc.detail)
        else:
            update_session_auth_hash(request, request.user)  # this browser stays signed in
            messages.success(request, "Your password is changed." + (
                f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""))
            return redirect("settings")
    return _page(request, password_form=form, status=400)


@member_required()
@require_POST
def settings_sessions_end(request):
    ended = account_services.user_sessions_end_others(user=request.user, keep_session_key=request.session.session_key,
                                                      workspace=request.tenant)
    if ended:
        messages.success(request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")
    else:
        messages.info(request, "There was no other session to sign out.")
    return redirect("settings")


@member_required()
@require_POST
def settings_leave(request):
    """Leave the workspace (the members page never offers "remove" on your own row). The last
    owner is refused: a workspace always keeps one (accounts.services.membership_remove)."""
    workspace = request.tenant
    try:
        account_services.membership_remove(membership=request.membership, actor=request.membership)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("settings")
    return render(request, "dashboard/workspace_deleted.html",
                  {"heading": f"You left {workspace.name}", "public_url": workspace_url(None, "/workspaces/"),
                   "message": f"You are no longer a member of {workspace.name}. An owner or admin can invite you again.",
                   "workspace": None, "membership": None, "nav_items": []})


@member_required("workspace.manage")
@require_POST
def settings_delete_workspace(request):
    form = DeleteWorkspaceForm(request.POST)
    workspace = request.tenant
    if form.is_valid():
        try:
            tenant_services.workspace_delete(workspace=workspace, confirm=form.cleaned_data["confirm"],
                                             actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            # This host no longer exists: a page with a link, not a redirect to another origin
            # (our CSP's form-action 'self' refuses a cross-origin redirect after a POST).
            return render(request, "dashboard/workspace_deleted.html",
                          {"heading": f"{workspace.name} is deleted",
                           "message": "Its members, keys, usage and audit trail are gone, and its address no longer "
                                      "answers.",
                           "public_url": workspace_url(None, "/workspaces/"),
                           "workspace": None, "membership": None, "nav_items": []})
    return _page(request, delete_form=form, status=400)
