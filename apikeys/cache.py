"""Verified keys and their workspace, cached in process memory.

A steady-state authenticated request reads only this dict: no SQL. Revocation,
rotation and workspace suspension publish an invalidation (core.invalidation)
that every process applies within a second; expiry needs no message, since the
entry carries expires_at and is checked on every request.

Unknown ids are remembered apart, in a bounded negative cache (oldest dropped first), so
a flood of made-up ids costs one query per id and can't push real keys out. Creating a key
publishes its id (apikeys.services), which drops it from every process's negative cache:
a new key works at once everywhere.
"""

import ipaddress
import math
from dataclasses import dataclass, field
from datetime import datetime

from apikeys.models import ApiKey
from apikeys.scopes import granted
from core.cache import ALL, LocalCache
from tenants.models import Workspace

_NEGATIVE_TTL = 60.0  # a created key's invalidation drops its id at once; this bounds the rest
_MAX_ENTRIES = 100_000
_MAX_MISSES = 10_000


@dataclass(slots=True, frozen=True)
class CachedKey:
    pk: int
    key_id: str
    environment: str
    digest: str
    name: str
    scopes: frozenset
    expires_at: datetime | None
    revoked_at: datetime | None
    workspace: Workspace
    networks: tuple = ()
    burst_limit: int | None = None
    burst_window: int = 1
    granted: frozenset = frozenset()  # the scopes with what they imply (apikeys.scopes)
    # revoked_at / expires_at as epoch seconds (inf: never), compared with time.time() per request
    revoked_ts: float = math.inf
    expires_ts: float = math.inf
    prefix: str = field(init=False, default="")  # tg_<env>_<id>, made from environment and key_id

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", f"tg_{self.environment}_{self.key_id}")

    def allows_ip(self, address: str | None) -> bool:
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        # An IPv4 client may arrive as itself or IPv4-mapped (::ffff:a.b.c.d, dual-stack sockets),
        # and an allowlist may name it either way: try both forms.
        forms = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            forms.append(ip.ipv4_mapped)
        elif isinstance(ip, ipaddress.IPv4Address):
            forms.append(ipaddress.IPv6Address(f"::ffff:{ip}"))
        return any(form.version == net.version and form in net for form in forms for net in self.networks)


def _from_row(row: ApiKey) -> CachedKey:
    return CachedKey(
        pk=row.pk,
        key_id=row.key_id,
        environment=row.environment,
        digest=row.digest,
        name=row.name,
        scopes=frozenset(row.scopes or ()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        workspace=row.workspace,
        networks=tuple(ipaddress.ip_network(c, strict=False) for c in (row.allowed_ips or ())),
        burst_limit=row.burst_limit,
        burst_window=row.burst_window or 1,
        granted=frozenset(granted(row.scopes or ())),
        revoked_ts=row.revoked_at.timestamp() if row.revoked_at else math.inf,
        expires_ts=row.expires_at.timestamp() if row.expires_at else math.inf,
    )


def _key_topics(topic: str):
    if topic.startswith("key:"):
        return topic[4:]
    return ALL if topic.startswith("workspace:") else None


def _load(key_id: str) -> CachedKey | None:
    row = ApiKey.objects.select_related("workspace").filter(key_id=key_id).first()
    return _from_row(row) if row is not None else None


class KeyCache:
    """Key id -> CachedKey (or None: unknown), in a core.cache.LocalCache."""

    def __init__(self) -> None:
        self._cache = LocalCache("keys", topics=_key_topics, max_entries=_MAX_ENTRIES, max_misses=_MAX_MISSES,
                                 negative_max_age=_NEGATIVE_TTL)

    def get(self, key_id: str) -> CachedKey | None:
        """The key with this id, from memory when fresh, else from the database (one query)."""
        return self._cache.get_or_load(key_id, _load)


keys = KeyCache()
