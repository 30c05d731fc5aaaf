"""JSON log lines carrying the request id, workspace and key prefix, with secrets masked.

Every line goes through `redact()` last, whatever logged it: Django's own "Not Found:
/invite/<token>/" lines, a library's exception message quoting a header, a careless
f-string. Masking at the formatter is the one place that sees all of them, so no
code path has to remember. Sentry events (optional, SENTRY_DSN) get the same mask.
"""

import json
import logging
import re
from datetime import UTC, datetime

from core import context as request_context

MASK = "[redacted]"

# (pattern, replacement). Order matters: the specific shapes before the generic ones.
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # API keys tg_<env>_<id>_<secret>: keep the id (it is the public prefix), drop the secret.
    (re.compile(r"\b(tg_(?:live|test)_[a-z0-9]{12})_[A-Za-z0-9]+"), r"\1_" + MASK),
    # Stripe secret, restricted and webhook-signing keys.
    (re.compile(r"\b((?:sk|rk)_(?:live|test)_|whsec_)[A-Za-z0-9]+"), r"\1" + MASK),
    # Authorization header values and "Bearer <token>" anywhere.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + MASK),
    # Cookies and form/query/JSON fields that carry credentials.
    (re.compile(r"(?i)\b(sessionid|csrftoken|csrfmiddlewaretoken)=[^;&\s\"']+"), r"\1=" + MASK),
    (re.compile(r"(?i)([\"']?(?:password\d?|passwd|secret|api[_-]?key|x-api-key|authorization|token|dsn)[\"']?\s*[:=]\s*)"
                r"(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"), r"\1" + MASK),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@/\s]+@"), r"\1:" + MASK + "@"),
    # One-time tokens in paths: invitations, sign-in handoffs, signup confirmations, password resets.
    (re.compile(r"(/(?:invite|auth/handoff|signup/confirm)/)[^/\s\"']+"), r"\1" + MASK),
    (re.compile(r"(/password-reset/[^/\s\"']+/)[^/\s\"']+"), r"\1" + MASK),
]


def redact(text: str) -> str:
    """`text` with API keys, Stripe keys, bearer tokens, passwords, session ids and URL credentials masked."""
    if not text:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.request_id.get()
        record.workspace = request_context.workspace_slug.get()
        record.key_prefix = request_context.key_prefix.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
            "workspace": getattr(record, "workspace", None),
            "key_prefix": getattr(record, "key_prefix", None),
        }
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        return json.dumps(line, default=str)


# SENTRY (optional): config/settings/base.py calls this when SENTRY_DSN is set.
def _redact_event(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_event(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_event(item) for item in value]
    return value


def before_send(event, hint):
    """Tag the event with the request's id, workspace and key prefix; mask secrets in every string."""
    tags = event.setdefault("tags", {})
    for name, var in (("request_id", request_context.request_id), ("workspace", request_context.workspace_slug),
                      ("key_prefix", request_context.key_prefix)):
        if var.get():
            tags[name] = var.get()
    return _redact_event(event)


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Report unhandled errors (web and Celery) to Sentry, without personal data or local variables."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,  # no cookies, user emails or IPs
        include_local_variables=False,  # frames' locals can hold a key or a password
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,
    )
