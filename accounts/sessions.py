"""SESSION_ENGINE: Django's cached_db sessions, kept in accounts.UserSession, whose rows also say
whose session it is, from which address and browser, and since when. That is what lets the
settings page list a person's sessions and end the others; django_session cannot say whose a
row is without decoding every row. Django documents this extension ("Extending database-backed
session engines")."""

from typing import Any

from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import context

_SIGNED_IN_AT = "_tg_signed_in_at"


class SessionStore(CachedDBStore):
    cache_key_prefix = "accounts.sessions"

    @classmethod
    def get_model_class(cls):
        # By name: accounts.models names this store (UserSession.get_session_store_class).
        return apps.get_model("accounts", "UserSession")

    def create_model_instance(self, data):
        user_id = data.get(SESSION_KEY)
        if user_id and _SIGNED_IN_AT not in data:
            data[_SIGNED_IN_AT] = timezone.now().isoformat()
        obj: Any = super().create_model_instance(data)  # a UserSession (get_model_class)
        obj.user_id = int(user_id) if user_id and str(user_id).isdigit() else None
        obj.signed_in_at = parse_datetime(data[_SIGNED_IN_AT]) if user_id and data.get(_SIGNED_IN_AT) else None
        obj.ip = context.client_ip.get()
        obj.user_agent = (context.user_agent.get() or "")[:300]
        return obj
