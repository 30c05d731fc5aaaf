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
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from apikeys.models import ApiKey
from apikeys.scopes import granted
from core import invalidation
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
    stored_at: float = field(default_factory=time.monotonic)
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


class KeyCache:
    def __init__(self) -> None:
        self._data: dict[str, CachedKey] = {}
        self._misses: OrderedDict[str, float] = OrderedDict()  # unknown id -> when looked up, oldest first
        # Bumped by every invalidation: a lookup that raced one (read the row before a revoke or
        # a create committed) must not store what it read, or it would outlive the message.
        self._generation = 0
        self._lock = threading.Lock()
        invalidation.register(self.on_invalidate)

    def get(self, key_id: str) -> CachedKey | None:
        """The key with this id, from memory when fresh, else from the database (one query)."""
        now = time.monotonic()
        entry = self._data.get(key_id)
        if entry is not None:
            if now - entry.stored_at < invalidation.max_age():
                return entry
        else:
            missed = self._misses.get(key_id)
            if missed is not None and now - missed < min(_NEGATIVE_TTL, invalidation.max_age()):
                return None  # recently looked up and unknown
        generation = self._generation
        row = ApiKey.objects.select_related("workspace").filter(key_id=key_id).first()
        cached = _from_row(row) if row is not None else None
        with self._lock:
            if generation != self._generation:
                return cached  # answer this request, remember nothing
            if cached is None:
                self._misses.pop(key_id, None)
                self._misses[key_id] = now
                while len(self._misses) > _MAX_MISSES:
                    self._misses.popitem(last=False)
                return None
            self._misses.pop(key_id, None)
            if len(self._data) >= _MAX_ENTRIES:
                self._data.clear()
            self._data[key_id] = cached
            return cached

    def on_invalidate(self, topic: str) -> None:
        with self._lock:
            self._generation += 1
            if topic.startswith("key:"):
                key_id = topic[4:]
                self._data.pop(key_id, None)
                self._misses.pop(key_id, None)
            elif topic == "all" or topic.startswith("workspace:"):
                self._data.clear()
                self._misses.clear()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()
            self._misses.clear()


keys = KeyCache()
