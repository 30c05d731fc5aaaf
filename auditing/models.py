from django.db import models


class AuditEvent(models.Model):
    """One security or business event. The table exists in public (platform events) and
    in every workspace schema (that workspace's events).

    Rows are append-only: a database trigger (migration 0002) refuses UPDATE and DELETE,
    except the retention job's DELETE and the erasure of personal data. Each row's
    `hash` chains to the previous row's in the same schema (auditing.chain). Personal
    data (actor_label, ip, user_agent, details) is hashed through `pii_digest`, a salted
    digest, so that erasing it later leaves the chain verifiable: erasure blanks the
    personal columns and the salt, and keeps the digest.
    """

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"
        CRITICAL = "critical"

    class ActorType(models.TextChoices):
        USER = "user"
        API_KEY = "api_key"
        SYSTEM = "system"
        OPERATOR = "operator"

    occurred_at = models.DateTimeField(db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=16, default="success")
    details = models.JSONField(default=dict, blank=True)
    # Salt of pii_digest; blank once the row's personal data was erased.
    pii_salt = models.CharField(max_length=32, blank=True)
    pii_digest = models.CharField(max_length=64, blank=True)
    # What the hash covers (auditing.chain.HASH_VERSION); a new scheme gets a new number.
    hash_version = models.PositiveSmallIntegerField(default=2)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["actor_type", "actor_id"]), models.Index(fields=["resource_type", "resource_id"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action}"

    @property
    def is_redacted(self) -> bool:
        return not self.pii_salt


class AuditChainAnchor(models.Model):
    """Where the chain starts after the retention job deleted its oldest events.

    The first remaining event's prev_hash must equal the newest anchor's last_hash, so
    deleting old events without the retention job (which writes the anchor) is detected.
    """

    created_at = models.DateTimeField()
    cutoff = models.DateTimeField()
    last_event_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    purged = models.PositiveIntegerField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"anchor after event {self.last_event_id}"
