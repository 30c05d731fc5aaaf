"""The hash chain: what each audit event's hash covers, and how a schema's chain is verified.

hash = SHA-256 of the event's facts and the previous event's hash. Personal data (who by
name, IP, user agent, details) enters the hash only through `pii_digest`, a salted
digest of it, so erasing a person blanks those columns and the salt but never changes a
hash: the chain stays verifiable, and an erased row can no longer be brute-forced back
from its digest because its salt is gone with it.
"""

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

from auditing.models import AuditChainAnchor, AuditEvent

CHUNK = 5000
HASH_VERSION = 2


def canonical_ip(value: str | None) -> str | None:
    """One spelling per address (PostgreSQL's inet may print it differently from the input)."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(str(value).split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


# PostgreSQL refuses NUL in text and in JSON strings: a NUL typed into a login form made the
# failed-login event's INSERT fail, so the attempt went unrecorded and the page was a 500
# (issue 18). Stored values carry U+FFFD, the replacement character, where a NUL was.
NUL_STAND_IN = "\ufffd"


def without_nul(text: str) -> str:
    return text.replace("\x00", NUL_STAND_IN)


def _strings_without_nul(value):
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, dict):
        return {_strings_without_nul(k): _strings_without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings_without_nul(v) for v in value]
    return value


def jsonable(value) -> dict:
    """`value` as it will read back from the JSON column (so what is hashed is what is stored)."""
    return _strings_without_nul(json.loads(json.dumps(value or {}, cls=DjangoJSONEncoder)))


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def pii_digest(event: AuditEvent) -> str:
    return _digest({
        "salt": event.pii_salt,
        "label": event.actor_label,
        "ip": canonical_ip(event.ip),
        "ua": event.user_agent,
        "details": event.details,
    })


def event_hash(event: AuditEvent) -> str:
    return _digest({
        "v": HASH_VERSION,
        "prev": event.prev_hash,
        "at": event.occurred_at.isoformat(),
        "actor": [event.actor_type, event.actor_id],
        "action": event.action,
        "severity": event.severity,
        "resource": [event.resource_type, event.resource_id],
        "rid": event.request_id,
        "outcome": event.outcome,
        "pii": event.pii_digest,
    })


def chain_head() -> str:
    """The hash the next event in the current schema chains to."""
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    if last is not None:
        return last
    return AuditChainAnchor.objects.order_by("-id").values_list("last_hash", flat=True).first() or ""


@dataclass(frozen=True)
class ChainReport:
    checked: int
    redacted: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


_FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields]


def _events() -> Iterator[AuditEvent]:
    # Plain tuples through a server-side cursor: constant memory at any table size.
    for row in AuditEvent.objects.order_by("id").values_list(*_FIELDS).iterator(chunk_size=CHUNK):
        yield AuditEvent(**dict(zip(_FIELDS, row, strict=True)))


def verify_current_schema() -> ChainReport:
    """Walk the current schema's chain in id order; stop at the first broken link."""
    anchor = AuditChainAnchor.objects.order_by("-id").first()
    expected_prev = anchor.last_hash if anchor else ""
    checked = redacted = 0
    for event in _events():
        if anchor is not None and event.pk <= anchor.last_event_id:
            return ChainReport(checked, redacted, event.pk, f"event {event.pk} should have been purged by retention")
        if event.prev_hash != expected_prev:
            before = "the retention anchor" if checked == 0 and anchor else (
                "the previous event" if checked else "the start of the chain")
            return ChainReport(checked, redacted, event.pk,
                               f"prev_hash does not match {before} (an event before it was removed or altered)")
        if event.hash_version != HASH_VERSION:
            return ChainReport(checked, redacted, event.pk, f"unknown hash version {event.hash_version}")
        if event.pii_salt:
            if pii_digest(event) != event.pii_digest:
                return ChainReport(checked, redacted, event.pk,
                                   "personal data (actor, IP, user agent or details) was altered")
        else:
            redacted += 1
        if event_hash(event) != event.hash:
            return ChainReport(checked, redacted, event.pk, "stored hash does not match the event's contents")
        expected_prev = event.hash
        checked += 1
    return ChainReport(checked, redacted)
