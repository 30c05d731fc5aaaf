"""Dashboard pages for API keys on the workspace host: list, create, revoke, rotate.

A new secret is shown exactly once, by post/redirect/get: the POST that makes the key
redirects to /keys/secret/, whose first GET shows it (`Cache-Control: no-store`) and forgets
it; a reload shows nothing and makes no key (the page used to be the POST's answer, so a
reload made a second key). Between the two the secret is split in two halves that are each
random alone (a one-time pad): the session holds the secret XOR the pad, a short-lived
cookie scoped to /keys/secret/ holds the pad. Neither the session store (database, cache)
nor the cookie ever holds it in clear, and it is never in a URL.
"""

import base64
import binascii
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import member_required
from accounts.forms import apply_domain_error
from accounts.permissions import can
from apikeys import selectors, services
from apikeys.models import ApiKey
from core.errors import DomainError

# (workspace, key ids) -> {key id: {"calls": int, "last_used": datetime | None}}
KeyUsage = Callable[..., dict[str, dict]]

SECRET_PATH = "/keys/secret/"
_HELD = "apikeys.secret"  # session key: the masked secret waiting for its one display
_PAD_COOKIE = "tg_key_pad"
_PAD_SECONDS = 300  # time to follow the redirect; the pad is gone after that

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
        scopes: forms.MultipleChoiceField = self.fields["scopes"]  # type: ignore[assignment]
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


def _hold_secret(request, *, key: ApiKey, text: str, heading: str, previous: ApiKey | None = None):
    """Redirect to the page that shows `text` once (see the module's docstring)."""
    data = text.encode()
    pad = secrets.token_bytes(len(data))
    request.session[_HELD] = {
        "key_id": key.key_id,
        "masked": base64.b64encode(bytes(a ^ b for a, b in zip(data, pad, strict=True))).decode(),
        "heading": heading,
        "previous": previous.key_id if previous is not None else None,
    }
    response = redirect("key-secret")
    response.set_cookie(_PAD_COOKIE, base64.urlsafe_b64encode(pad).decode(), max_age=_PAD_SECONDS, path=SECRET_PATH,
                        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
    return response


def _unmask(held: dict | None, pad: str | None, key: ApiKey | None) -> str | None:
    if not held or not pad or key is None:
        return None
    try:
        masked, pad_bytes = base64.b64decode(held["masked"]), base64.urlsafe_b64decode(pad)
    except (binascii.Error, KeyError, TypeError, ValueError):
        return None
    if len(masked) != len(pad_bytes):
        return None
    text = bytes(a ^ b for a, b in zip(masked, pad_bytes, strict=True)).decode(errors="replace")
    # A pad from another display gives noise: show only what is this key's text.
    return text if text.startswith(f"{key.prefix}_") else None


@member_required("keys.manage")
def key_secret(request):
    """The one display of a secret made by the POST that redirected here."""
    held = request.session.pop(_HELD, None)
    key = selectors.apikey_get(workspace=request.tenant, key_id=held.get("key_id", "")) if held else None
    text = _unmask(held, request.COOKIES.get(_PAD_COOKIE), key)
    if text is None:
        messages.info(request, "That key was already shown: its secret is shown only once. If you did not "
                               "store it, revoke the key and create a new one.")
        response: HttpResponse = redirect("keys")
    else:
        previous = selectors.apikey_get(workspace=request.tenant, key_id=held["previous"]) if held["previous"] else None
        response = render(request, "apikeys/keys_secret.html",
                          {"key": key, "secret": text, "heading": held["heading"], "previous": previous})
        # The only response that ever carries the secret: keep it out of every cache.
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
    response.delete_cookie(_PAD_COOKIE, path=SECRET_PATH, samesite="Lax")
    return response


def _grantable(request) -> frozenset[str]:
    return services.scopes_grantable_by(actor=request.user, workspace=request.tenant)


def _beyond(key: ApiKey, grantable: frozenset[str]) -> str | None:
    """The first of the key's scopes the user may not grant (rotating would hand it to them)."""
    return next((scope for scope in key.scopes if scope not in grantable), None)


@member_required("keys.view")
def key_list(request, key_usage: KeyUsage | None = None):
    """`key_usage`: each key's calls in the last 24 h and last use, from metering, a layer above
    this app: config/urls.py passes metering.views.key_usage, so apikeys imports nothing of it
    (.importlinter). Without it the page shows no usage column."""
    can_manage = can(request.membership.role, "keys.manage")
    keys = list(selectors.apikey_list(workspace=request.tenant))
    grantable = _grantable(request) if can_manage else frozenset()
    usage = key_usage(workspace=request.tenant, key_ids=[k.key_id for k in keys]) if key_usage and keys else None
    context = {
        "keys": [(k, usage.get(k.key_id, {}) if usage is not None else None) for k in keys],
        "has_usage": usage is not None,
        "can_manage": can_manage,
        "rotatable": {k.key_id for k in keys if _beyond(k, grantable) is None},
    }
    return render(request, "apikeys/keys.html", context)


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
            return _hold_secret(request, key=row, text=text, heading="Your new API key")
    return render(request, "apikeys/keys_new.html", {"form": form}, status=400 if form.errors else 200)


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
        return render(request, "apikeys/keys_rotate.html", {"key": key, "beyond": beyond}, status=403)
    form = KeyRotateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        grace = timedelta(seconds=int(form.cleaned_data["grace_period"]))
        try:
            new, text = services.apikey_rotate(key=key, grace=grace, actor=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return _hold_secret(request, key=new, text=text, heading="Your rotated API key", previous=key)
    return render(request, "apikeys/keys_rotate.html", {"form": form, "key": key}, status=400 if form.errors else 200)
