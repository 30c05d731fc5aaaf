"""Logging in and out: the dashboard's and the operator console's logins, logout, password reset."""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, throttle
from accounts.forms import EmailAuthenticationForm
from auditing.services import record
from tenants.selectors import workspace_url


def throttled(request, exception=None):
    return throttle.throttled_response(request, 60)


class _AuditedLogin:
    """What the dashboard's and the operator console's logins share: the throttle per IP and
    per email, a 400 for a refused form, and one audit event for every attempt. Mixed into
    Django's LoginView (which has request, post and form_invalid)."""

    request: HttpRequest

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
        return super().post(request, *args, **kwargs)  # type: ignore[misc]  # LoginView's

    def throttled(self, retry_after: int):
        return throttle.throttled_response(self.request, retry_after)

    def form_invalid(self, form):
        record(action="login_failed", severity="warning", outcome="failure", workspace=self._workspace(),
               details=self._failure_details(form))
        response = super().form_invalid(form)  # type: ignore[misc]  # LoginView's
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


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"

    @property
    def extra_email_context(self):  # type: ignore[override]  # computed per request: Django's is a plain attribute
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
