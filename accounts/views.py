"""Account pages: signup, login/logout, handoff to a workspace host, invitations, members."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services, throttle
from accounts.decorators import member_required
from accounts.errors import InvitationInvalid, NotAllowed, SignupInvalid
from accounts.forms import (
    AcceptInvitationForm,
    ConfirmForm,
    EmailAuthenticationForm,
    InviteForm,
    RoleForm,
    SignupForm,
    apply_domain_error,
)
from accounts.models import Membership
from accounts.permissions import Role, can
from auditing.services import record
from tenants.errors import DomainError
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


def throttled(request, exception=None):
    return throttle.throttled_response(request, 60)


# Public site -------------------------------------------------------------------------

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


class _AuditedLogin:
    """What the dashboard's and the operator console's logins share: the throttle per IP and
    per email, a 400 for a refused form, and one audit event for every attempt."""

    def _workspace(self):
        tenant = getattr(self.request, "tenant", None)
        return None if tenant is None or tenant.is_public else tenant

    def _failure_details(self, form=None) -> dict:
        # What was typed, never the password; auditing stores a NUL in it as U+FFFD.
        return {"email": self.request.POST.get("username", "")[:254]}

    def post(self, request, *args, **kwargs):
        retry_after = throttle.login_wait(request)
        if retry_after is not None:
            record(action="login_failed", severity="warning", outcome="throttled", workspace=self._workspace(),
                   details=self._failure_details())
            return self.throttled(retry_after)
        return super().post(request, *args, **kwargs)

    def throttled(self, retry_after: int):
        return throttle.throttled_response(self.request, retry_after)

    def form_invalid(self, form):
        record(action="login_failed", severity="warning", outcome="failure", workspace=self._workspace(),
               details=self._failure_details(form))
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LoginView(_AuditedLogin, auth_views.LoginView):
    """Login on the public site or on a workspace host, throttled per IP and per email."""

    authentication_form = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def form_valid(self, form):
        user = form.get_user()
        workspace = self._workspace()
        if workspace is not None:
            membership = selectors.membership_for(user=user, workspace=workspace)
            # An invitee with an account logs in here to accept: the invitation page links to this form.
            invited = membership is None and selectors.invitation_pending_for(workspace=workspace, email=user.email)
            if (membership is None or not membership.is_active) and not invited:
                # Same words as a wrong password: don't confirm who belongs where. That the password
                # was right is for the platform's log only; the workspace's log gets the same
                # failure a wrong password writes (form_invalid), and no reason.
                form.add_error(None, form.error_messages["invalid_login"] % {"username": "email"})
                record(action="login_failed", severity="warning", outcome="failure", workspace=None,
                       details={"email": user.email, "workspace": workspace.slug,
                                "reason": "not_a_member" if membership is None else "suspended"})
                return self.form_invalid(form)
        response = super().form_valid(form)
        record(action="login", actor=user, resource=user, workspace=workspace)
        return response

    def get_success_url(self):
        url = self.get_redirect_url()
        if url:
            return url
        return "/" if self._workspace() is not None else reverse("workspaces")


class OperatorLoginView(_AuditedLogin, auth_views.LoginView):
    """The operator console's (Django admin's) login, throttled and audited like the dashboard's.

    Its events are platform events: the console lives on the public site only.
    """

    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"

    def _failure_details(self, form=None) -> dict:
        details = {**super()._failure_details(form), "via": "operator_console"}
        if form is not None and form.get_user() is not None:
            # The right password of an account that is not staff. The page says what a wrong
            # password gets; this log is the platform's, which only operators read.
            details["reason"] = "not_staff"
        return details

    def throttled(self, retry_after: int):
        # The console's own form, with the refusal at the top (admin pages show messages there).
        minutes = max(1, round(retry_after / 60))
        messages.error(self.request, f"Too many attempts. For your security sign-in is paused: try again in "
                                     f"{minutes} minute{pluralize(minutes)} ({retry_after} seconds).")
        form = self.get_form_class()(self.request)  # unbound: a throttled attempt is never checked
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(retry_after)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        record(action="login", actor=("operator", user), resource=user, workspace=None,
               details={"via": "operator_console"})
        return response


def operator_login(request):
    """admin.site.login with OperatorLoginView in place of Django's LoginView.

    AdminSite.login builds its LoginView itself, so its page context is rebuilt here the same
    way (Django 5.2, django/contrib/admin/sites.py) and config/urls_public.py routes
    /admin/login/ here ahead of the admin's own URLs.
    """
    if request.method == "GET" and admin.site.has_permission(request):
        return redirect("admin:index")
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=admin.site.name)
    request.current_app = admin.site.name
    return OperatorLoginView.as_view(extra_context=context)(request)


@require_POST
def logout(request):
    user = request.user if request.user.is_authenticated else None
    tenant = getattr(request, "tenant", None)
    auth_logout(request)
    if user is not None:
        record(action="logout", actor=user, resource=user,
               workspace=None if tenant is None or tenant.is_public else tenant)
    messages.info(request, "You have been logged out.")
    return redirect("login")


@login_required
def workspaces(request):
    return render(request, "public/workspaces.html", {"memberships": selectors.workspaces_of(user=request.user)})


@login_required
@require_POST
def go(request, slug):
    workspace = workspace_get(slug=slug)
    membership = selectors.membership_for(user=request.user, workspace=workspace) if workspace else None
    if membership is None or not membership.is_active or not workspace.is_active:
        raise Http404
    return _hand_off(request, user=request.user, workspace=workspace)


def handoff(request, token):
    user = services.handoff_redeem(token=token, workspace=request.tenant)
    if user is None:
        messages.error(request, "That sign-in link has expired. Log in here instead.")
        return redirect("login")
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("home")


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        # The link goes to the configured public site, never to the request's Host (Django's
        # `protocol` and `domain`): a reset asked for on another workspace's host, a custom
        # domain or any name that reaches the server must not mail a link valid there.
        return {"site_url": workspace_url(None, "")}

    def post(self, request, *args, **kwargs):
        refused = throttle.password_reset_check(request)
        if refused is not None:
            return refused
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        tenant = getattr(self.request, "tenant", None)
        record(action="password_reset", severity="info", outcome="requested",
               workspace=None if tenant is None or tenant.is_public else tenant,
               details={"email": form.cleaned_data["email"]})
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400  # like every other form here: a refused input is a 400
        return response


# Workspace dashboard --------------------------------------------------------------------

@member_required()
def home(request):
    return render(request, "dashboard/home.html")


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
        "can_manage": can(request.membership.role, "members.change_role"),
    }
    return render(request, "dashboard/members.html", context, status=400 if form.errors else 200)


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
