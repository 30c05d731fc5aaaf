"""DRF authentication of the platform API: operator tokens only, `Authorization: Bearer tg_op_...`.

Separate from workspace keys (apikeys.authentication): a workspace key here is an invalid
token (401), an operator token on the workspace API an invalid key. Failed attempts are
counted per address (accounts.throttle): past TOLLGATE_OPERATOR_AUTH_FAILURES the address
is refused, good token or not, until the window ends, so a token can't be guessed at speed.
"""

import ipaddress

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from accounts import throttle
from auditing.services import record
from core import context
from operators import tokens
from operators.errors import InvalidOperatorToken, OperatorIpNotAllowed, OperatorTokenInactive, TooManyFailedAttempts
from operators.models import OperatorToken
from operators.selectors import operator_token_by_id
from operators.services import operator_token_touch

THROTTLE_GROUP = "operator_token"


class OperatorPrincipal:
    """request.user on the platform API: a token, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: OperatorToken) -> None:
        self.token = token

    def __str__(self) -> str:
        return self.token.prefix


def actor_of(token: OperatorToken) -> tuple[str, str]:
    """The audit actor for a token's actions: ("operator", "<prefix> (<name>)"). A label, not the
    row: an operator *user*'s events carry the user's id, which a token's id could be taken for."""
    return ("operator", str(token))


def allows_ip(token: OperatorToken, address: str | None) -> bool:
    if not token.allowed_ips:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    forms = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        forms.append(ip.ipv4_mapped)
    for cidr in token.allowed_ips:
        network = ipaddress.ip_network(cidr, strict=False)
        if any(form.version == network.version and form in network for form in forms):
            return True
    return False


def verify(raw: str) -> OperatorToken:
    """The token `raw` names if it is whole and active. Raises InvalidOperatorToken (unknown id and
    wrong secret alike, the same HMAC either way), OperatorTokenInactive once the secret is proved."""
    parsed = tokens.parse(raw)
    if parsed is None:
        raise InvalidOperatorToken()
    row = operator_token_by_id(token_id=parsed.token_id)
    matched = tokens.matches(parsed.secret, row.digest if row is not None else tokens.DUMMY_DIGEST)
    if row is None or not matched:
        raise InvalidOperatorToken()
    now = timezone.now()
    if row.revoked_at is not None and row.revoked_at <= now:
        raise OperatorTokenInactive("This operator token was revoked. Create a new one.")
    if row.expires_at is not None and row.expires_at <= now:
        raise OperatorTokenInactive("This operator token has expired. Create a new one.")
    return row


class OperatorTokenAuthentication(BaseAuthentication):
    # For the OpenAPI document (core/openapi.py): what this class refuses.
    problems = (InvalidOperatorToken, OperatorTokenInactive, OperatorIpNotAllowed, TooManyFailedAttempts)

    def authenticate(self, request):
        django_request = request._request
        header = django_request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        raw = value.strip() if scheme.lower() == "bearer" else ""
        if not raw:
            # X-API-Key (a workspace key's other header) is not read: refused as no token at all.
            raise InvalidOperatorToken()
        rate = settings.OPERATOR_AUTH_FAILURES
        wait = throttle.failures_wait(django_request, group=THROTTLE_GROUP, rate=rate)
        if wait is not None:
            raise TooManyFailedAttempts(f"Too many failed attempts from your address. Retry in {wait} s.",
                                        headers={"Retry-After": str(wait)})
        try:
            token = verify(raw)
        except InvalidOperatorToken:
            throttle.failure_count(django_request, group=THROTTLE_GROUP, rate=rate)
            raise
        if not allows_ip(token, django_request.META.get("REMOTE_ADDR")):
            # A proved token from the wrong place: worth a line in the trail (a leaked token?).
            record(action="operator_api_call", actor=actor_of(token), resource=("operator_token", token.pk),
                   outcome="failure", severity="warning",
                   details={"method": django_request.method, "path": django_request.path, "status": 403,
                            "refused": "ip_not_allowed"})
            raise OperatorIpNotAllowed("This operator token is not allowed from your address.")
        operator_token_touch(token=token)
        context.key_prefix.set(token.prefix)
        return OperatorPrincipal(token), token

    def authenticate_header(self, request):
        return 'Bearer realm="platform"'
