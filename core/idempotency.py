"""`Idempotency-Key` for POSTs that move money (Stripe's rule, and the IETF draft's,
draft-ietf-httpapi-idempotency-key-header): a retried request with the same key and the same
body gets the first answer again, with `Idempotent-Replayed: true`, and does nothing twice;
the same key with another body is a 409 `idempotency_key_reused`; a retry while the first is
still running is a 409 `idempotency_key_in_progress`.

Answers are kept in Redis for IDEMPOTENCY_TTL_SECONDS, per scope (the caller's workspace), so
two workspaces never see each other's keys. Only a success is kept: a refused request (a 4xx
problem) or a failure releases its key, so the client can fix the request and retry with it.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.response import Response

from core.errors import Conflict, InvalidInput
from core.redis import get_redis

HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces, as Stripe takes them
_PENDING_SECONDS = 120  # a first request still running after this is taken as dead


class IdempotencyKeyInvalid(InvalidInput):
    code = "idempotency_key_invalid"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with another request"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    title = "A request with this Idempotency-Key is still running"


def key_of(request) -> str | None:
    """The request's Idempotency-Key (a bare token, or a structured-field string in quotes).
    Raises IdempotencyKeyInvalid."""
    raw = request.META.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid("Idempotency-Key must be 1 to 255 printable ASCII characters without spaces, "
                                    "for example a UUID.", field="Idempotency-Key")
    return key


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(scope: Callable[[object], str]) -> Callable:
    """Decorate an APIView's post(): `scope(request)` names whose keys these are (a workspace)."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = key_of(request)
            if key is None:
                return method(view, request, *args, **kwargs)
            fingerprint = _fingerprint(request)  # reads the body first: a malformed one is a 400, nothing kept
            slot = "tg:idem:" + hashlib.sha256(f"{scope(request)}\n{key}".encode()).hexdigest()
            redis = get_redis()
            if not redis.set(slot, json.dumps({"fp": fingerprint, "state": "pending"}), nx=True, ex=_PENDING_SECONDS):
                stored = json.loads(redis.get(slot) or "null")
                if stored is None:  # expired between the two calls: start over
                    return wrapper(view, request, *args, **kwargs)
                if stored["fp"] != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used with another request (method, path or body). Use a new key "
                        "for a new request.")
                if stored["state"] == "pending":
                    raise IdempotencyKeyInProgress("The first request with this Idempotency-Key has not finished; "
                                                   "retry in a moment.", headers={"Retry-After": "1"})
                return Response(stored["body"], status=stored["status"], headers={REPLAYED: "true"})
            try:
                response = method(view, request, *args, **kwargs)
            except BaseException:
                redis.delete(slot)
                raise
            if HTTPStatus.OK <= response.status_code < HTTPStatus.MULTIPLE_CHOICES:
                redis.set(slot, json.dumps({"fp": fingerprint, "state": "done", "status": response.status_code,
                                            "body": response.data}, cls=DjangoJSONEncoder),
                          ex=settings.IDEMPOTENCY_TTL_SECONDS)
            else:
                redis.delete(slot)
            return response

        return wrapper

    return decorate
