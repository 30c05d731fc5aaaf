"""Model change history (django-auditlog): which models, which schema, which correlation id."""

import logging
from functools import wraps

from django.apps import apps
from django.db.models.signals import post_delete, post_save, pre_save
from django_tenants.utils import get_public_schema_name, schema_context

from core import context

logger = logging.getLogger(__name__)

# model -> fields left out of the history (secrets, and columns that change on every use).
TRACKED = {
    "tenants.Workspace": [],
    "tenants.Domain": ["last_checked_at"],  # written by every daily check
    "accounts.Membership": [],
    "apikeys.ApiKey": ["digest", "last_used_at"],
    "billing.Plan": [],
    "billing.Subscription": [],
    "branding.Branding": ["logo", "favicon", "updated_at"],  # images are bytes (the version says they changed)
}


def request_id() -> str | None:
    """AUDITLOG_CID_GETTER: a history entry's correlation id is the request's X-Request-ID."""
    return context.request_id.get()


def _in_public(receiver):
    @wraps(receiver)
    def wrapped(*args, **kwargs):
        with schema_context(get_public_schema_name()):
            return receiver(*args, **kwargs)

    return wrapped


def register_history() -> list[str]:
    """Register the tracked models that exist; returns their labels.

    Billing and branding models are added as those apps define them: a label whose
    model is not there yet is skipped, and picked up once it exists.
    A shared model's history is written in the public schema, beside the row it
    describes, whatever workspace the request was in: otherwise it would land in
    whichever schema the connection happened to point at.
    """
    from auditlog.registry import auditlog

    registered = []
    for label, exclude in TRACKED.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        auditlog.register(model, exclude_fields=list(exclude))
        if model._meta.app_label not in _tenant_only_apps():
            _route_to_public(auditlog, model)
        registered.append(label)
    return registered


def _tenant_only_apps() -> set[str]:
    from django.conf import settings

    shared = {name.rsplit(".", 1)[-1] for name in settings.SHARED_APPS}
    return {name.rsplit(".", 1)[-1] for name in settings.TENANT_APPS} - shared


def _route_to_public(registry, model) -> None:
    # django-auditlog 3.4 connects one receiver per signal with a dispatch uid derived from
    # (registry, signal, receiver); swap each for the same receiver run in public.
    for signal in (post_save, pre_save, post_delete):
        receiver = registry._signals.get(signal)
        if receiver is None:
            continue
        uid = registry._dispatch_uid(signal, receiver)
        signal.disconnect(sender=model, dispatch_uid=uid)
        signal.connect(_in_public(receiver), sender=model, dispatch_uid=uid, weak=False)
