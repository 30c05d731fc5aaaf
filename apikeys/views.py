"""Dashboard pages for API keys on the workspace host: list, create, revoke, rotate.

A new secret is rendered straight into the response to the POST that made it
(never stored in the session, a message or a redirect) with `Cache-Control: no-store`,
so it is shown exactly once.
"""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import member_required
from accounts.forms import apply_domain_error
from accounts.permissions import can
from apikeys import selectors, services
from apikeys.models import ApiKey
from tenants.errors import DomainError

SCOPE_CHOICES = [
    ("read", "read: GET requests"),
    ("write", "write: read plus changes"),
    ("admin", "admin: write plus managing keys"),
]
GRACE_CHOICES = [
    ("0", "Now: the old key stops at once"),
    ("3600", "1 hour"),
    ("86400", "24 hours"),
    ("604800", "7 days"),
]


class KeyCreateForm(forms.Form):
    """`grantable`: the scopes the user may grant (apikeys.services), the only ones offered."""

    name = forms.CharField(max_length=services.MAX_NAME, help_text="What uses it, e.g. 'production server'.")
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple,
                                       initial=["read", "write"])
    environment = forms.ChoiceField(choices=ApiKey.Environment.choices, initial=ApiKey.Environment.LIVE)
    expires_at = forms.DateField(required=False, label="Expires on",
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Optional. The key stops working at 00:00 UTC that day.")
    burst_limit = forms.IntegerField(required=False, min_value=1, label="Burst limit",
                                     help_text="Optional. Requests per burst window for this key (plan default if empty).")
    burst_window = forms.TypedChoiceField(choices=[(1, "per second"), (60, "per minute")], coerce=int, initial=1,
                                          label="Burst window")
    allowed_ips = forms.CharField(required=False, label="Allowed IP addresses",
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Optional. One address or CIDR range per line (IPv4 or IPv6). "
                                            "Empty allows any address.")

    def __init__(self, *args, grantable=frozenset(ApiKey.SCOPES), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        scopes = self.fields["scopes"]
        scopes.choices = [(value, label) for value, label in SCOPE_CHOICES if value in grantable]
        scopes.initial = [value for value in ("read", "write") if value in grantable]
        offered = ", ".join(value for value, _ in scopes.choices) or "none"
        scopes.error_messages["invalid_choice"] = (
            f"Select a valid choice. %(value)s is not one of the available choices for your role ({offered}).")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        expires_on = data.get("expires_at")
        return {
            "name": data["name"],
            "scopes": data["scopes"],
            "environment": data["environment"],
            "expires_at": datetime.combine(expires_on, time.min, tzinfo=UTC) if expires_on else None,
            "burst_limit": data.get("burst_limit"),
            "burst_window": data["burst_window"],
            "allowed_ips": data.get("allowed_ips") or "",
        }


class KeyRotateForm(forms.Form):
    grace_period = forms.ChoiceField(choices=GRACE_CHOICES, initial="86400", widget=forms.RadioSelect,
                                     label="The old key keeps working for")


def _key_or_404(request, key_id: str) -> ApiKey:
    # Another workspace's key id is not found, the same as one that never existed.
    key = selectors.apikey_get(workspace=request.tenant, key_id=key_id)
    if key is None:
        raise Http404
    return key


def _secret_page(request, *, key: ApiKey, text: str, heading: str, previous: ApiKey | None = None):
    response = render(request, "dashboard/keys_secret.html",
                      {"key": key, "secret": text, "heading": heading, "previous": previous})
    # The only response that ever carries the secret: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _grantable(request) -> frozenset[str]:
    return services.scopes_grantable_by(actor=request.user, workspace=request.tenant)


def _beyond(key: ApiKey, grantable: frozenset[str]) -> str | None:
    """The first of the key's scopes the user may not grant (rotating would hand it to them)."""
    return next((scope for scope in key.scopes if scope not in grantable), None)


@member_required("keys.view")
def key_list(request):
    can_manage = can(request.membership.role, "keys.manage")
    keys = list(selectors.apikey_list(workspace=request.tenant))
    grantable = _grantable(request) if can_manage else frozenset()
    context = {
        "keys": keys,
        "can_manage": can_manage,
        "rotatable": {k.key_id for k in keys if _beyond(k, grantable) is None},
    }
    return render(request, "dashboard/keys.html", context)


@member_required("keys.manage")
def key_create(request):
    form = KeyCreateForm(request.POST or None, grantable=_grantable(request))
    if request.method == "POST" and form.is_valid():
        try:
            row, text = services.apikey_create(workspace=request.tenant, actor=request.user,
                                               **form.service_arguments())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return _secret_page(request, key=row, text=text, heading="Your new API key")
    return render(request, "dashboard/keys_new.html", {"form": form}, status=400 if form.errors else 200)


@member_required("keys.manage")
@require_POST
def key_revoke(request, key_id):
    # Any key manager may revoke any key, an admin key too: revoking takes access away, it grants none.
    key = _key_or_404(request, key_id)
    if key.status == "revoked":
        messages.info(request, f"{key.name} ({key.prefix}) was already revoked.")
    else:
        services.apikey_revoke(key=key, actor=request.user)
        messages.success(request, f"{key.name} ({key.prefix}) is revoked. Requests with it now get 401.")
    return redirect("keys")


@member_required("keys.manage")
def key_rotate(request, key_id):
    key = _key_or_404(request, key_id)
    beyond = _beyond(key, _grantable(request))
    if beyond is not None:
        # The same refusal the service makes (apikeys.services.apikey_rotate), said before a form is offered.
        return render(request, "dashboard/keys_rotate.html", {"key": key, "beyond": beyond}, status=403)
    form = KeyRotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        grace = timedelta(seconds=int(form.cleaned_data["grace_period"]))
        try:
            new, text = services.apikey_rotate(key=key, grace=grace, actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            key.refresh_from_db()
            return _secret_page(request, key=new, text=text, heading="Your rotated API key", previous=key)
    return render(request, "dashboard/keys_rotate.html", {"form": form, "key": key}, status=400 if form.errors else 200)
