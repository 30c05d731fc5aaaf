from django.conf import settings
from django.db import models
from django.utils import timezone


class OperatorToken(models.Model):
    """A credential for the platform API (/api/platform/v1/), for an operator's scripts.

    Public schema. `tg_op_<id>_<secret>`, stored as apikeys' keys are: the id (the lookup
    index, shown as the prefix) and an HMAC-SHA-256 digest of the secret with the key pepper
    (operators.tokens). Not a workspace key: it belongs to no workspace and the workspace API
    refuses it, as the platform API refuses workspace keys.
    """

    name = models.CharField(max_length=100)
    token_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    allowed_ips = models.JSONField(default=list, blank=True, help_text="CIDR ranges; empty allows any address.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def prefix(self) -> str:
        return f"tg_op_{self.token_id}"

    @property
    def status(self) -> str:
        now = timezone.now()
        if self.revoked_at and self.revoked_at <= now:
            return "revoked"
        if self.expires_at and self.expires_at <= now:
            return "expired"
        return "active"
