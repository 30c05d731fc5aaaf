"""The workspace dashboard's account pages: home, invitations, members."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.decorators import member_required
from accounts.errors import InvitationInvalid, NotAllowed
from accounts.forms import (
    AcceptInvitationForm,
    ConfirmForm,
    InviteForm,
    RoleForm,
    apply_domain_error,
)
from accounts.models import Membership
from accounts.permissions import Role, can
from core.errors import DomainError


def invitation(request, token):
    workspace = request.tenant
    if workspace.is_public:
        raise Http404
    try:
        invite = services.invitation_check(token=token, workspace=workspace)
    except InvitationInvalid as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.detail}, status=400)
    existing = selectors.user_by_email(email=invite.email)
    signed_in = request.user.is_authenticated
    # A signed-in invitee only confirms; its (field-less) form still carries a refusal to the page.
    data = request.POST if request.method == "POST" else None
    form = ConfirmForm(data) if signed_in else AcceptInvitationForm(data)
    if request.method == "POST" and form.is_valid():
        try:
            user, _ = services.invitation_accept(
                token=token, workspace=workspace, user=request.user if signed_in else None,
                password=form.cleaned_data.get("password", ""),
                full_name=form.cleaned_data.get("full_name", ""),
            )
        except InvitationInvalid as exc:
            return render(request, "accounts/invitation_invalid.html", {"message": exc.detail}, status=400)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if not signed_in:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {workspace.name}.")
            return redirect("home")
    context = {"invite": invite, "form": form, "existing": existing, "signed_in": signed_in}
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)


# What each role may do, in the words the members page shows (accounts.permissions.MATRIX decides).
ROLE_HELP = [
    (Role.OWNER.label, "Everything, including billing, renaming or deleting the workspace, and making other owners."),
    (Role.ADMIN.label, "Invites and manages members (not owners), manages API keys and branding, reads the audit log "
                       "and billing."),
    (Role.MANAGER.label, "Creates, rotates and revokes API keys (read and write scopes); sees usage and members."),
    (Role.MEMBER.label, "Sees the overview, usage, API keys and members; changes nothing."),
]


@member_required("members.view")
def members(request):
    workspace = request.tenant
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not can(request.membership.role, "members.invite"):
            return render(request, "errors/403.html", {"message": "Your role does not allow inviting."}, status=403)
        if form.is_valid():
            try:
                services.invitation_create(workspace=workspace, email=form.cleaned_data["email"],
                                           role=form.cleaned_data["role"], actor=request.membership)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                return redirect("members")
    context = {
        "form": form,
        "memberships": selectors.membership_list(workspace=workspace),
        "invitations": selectors.invitation_list_pending(workspace=workspace),
        "roles": Role.choices,
        "role_help": ROLE_HELP,
        "invitation_days": settings.INVITATION_TTL_DAYS,
        "can_manage": can(request.membership.role, "members.change_role"),
    }
    return render(request, "accounts/members.html", context, status=400 if form.errors else 200)


def _member_or_404(request, membership_id) -> Membership:
    membership = selectors.membership_get(workspace=request.tenant, membership_id=membership_id)
    if membership is None:
        raise Http404
    return membership


def _run(request, fn, success: str):
    try:
        fn()
    except NotAllowed as exc:
        # A forbidden action is a 403 like any page the role can't open, not a flash message.
        return render(request, "errors/403.html", {"message": exc.detail}, status=403)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, success)
    return redirect("members")


@member_required("members.view")
@require_POST
def member_role(request, membership_id):
    target = _member_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles in the list.")
        return redirect("members")
    role = form.cleaned_data["role"]
    return _run(request, lambda: services.membership_change_role(membership=target, role=role,
                                                                  actor=request.membership),
                f"{target.user.email} is now {Role(role).label.lower()}.")


@member_required("members.view")
@require_POST
def member_status(request, membership_id, status):
    if status not in ("suspend", "reactivate"):  # anything else must not mean "reactivate"
        raise Http404
    target = _member_or_404(request, membership_id)
    new = Membership.Status.SUSPENDED if status == "suspend" else Membership.Status.ACTIVE
    done = "suspended" if new == Membership.Status.SUSPENDED else "reactivated"
    return _run(request, lambda: services.membership_set_status(membership=target, status=new,
                                                                 actor=request.membership),
                f"{target.user.email} is {done}.")


@member_required("members.view")
@require_POST
def member_remove(request, membership_id):
    target = _member_or_404(request, membership_id)
    if target.pk == request.membership.pk:
        # The page offers no "remove" on your own row: removing yourself here would lock you out
        # with one misplaced click. Refused on the server too, whatever the form said.
        return render(request, "errors/403.html",
                      {"message": "You can't remove yourself. Ask another owner or admin to remove you."}, status=403)
    return _run(request, lambda: services.membership_remove(membership=target, actor=request.membership),
                f"{target.user.email} was removed.")


@member_required("members.view")
@require_POST
def invitation_revoke(request, invitation_id):
    invite = selectors.invitation_get(workspace=request.tenant, invitation_id=invitation_id)
    if invite is None:
        raise Http404
    return _run(request, lambda: services.invitation_revoke(invitation=invite, actor=request.membership),
                f"The invitation to {invite.email} was withdrawn.")
