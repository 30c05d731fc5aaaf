from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """An API key. Only an HMAC-SHA-256 digest of its secret is stored (apikeys.keys).

    In the public schema: one global index on key_id resolves a key's workspace in one lookup.
    """

    class Environment(models.TextChoices):
        LIVE = "live", "Live"
        TEST = "test", "Test"

    SCOPES = ("read", "write", "admin")

    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    environment = models.CharField(max_length=4, choices=Environment.choices, default=Environment.LIVE)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    burst_limit = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="Requests per burst window for this key (plan default if empty).")
    burst_window = models.PositiveIntegerField(default=1, help_text="Burst window in seconds (1 or 60).")
    allowed_ips = models.JSONField(default=list, blank=True, help_text="CIDR ranges; empty allows any address.")
    rotated_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def prefix(self) -> str:
        return f"tg_{self.environment}_{self.key_id}"

    def status_at(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at and self.revoked_at <= now:
            return "revoked"
        if self.expires_at and self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at()
