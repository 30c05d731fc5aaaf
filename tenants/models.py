import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django_tenants.models import DomainMixin, TenantMixin

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    {"www", "api", "admin", "app", "public", "static", "media", "mail", "smtp", "status", "docs", "help",
     "support", "billing", "auth", "login", "signup", "health", "metrics", "tollgate", "tollgate-template"}
)


def validate_slug(value: str) -> None:
    if not SLUG_RE.match(value or ""):
        raise ValidationError(
            "Use 3-40 lowercase letters, digits or hyphens, starting and ending with a letter or digit.",
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS:
        raise ValidationError("This address is reserved. Choose another.", code="reserved_slug")


class Workspace(TenantMixin):
    """A customer of the API owner: one PostgreSQL schema, reached at <slug>.<BASE_DOMAIN>."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=100)
    slug = models.CharField(max_length=40, unique=True, validators=[validate_slug, RegexValidator(SLUG_RE)])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    # The migration state of the workspace's schema (tenants.provisioning.state), recorded when
    # the schema is provisioned or migrated: migrate_schemas skips, in one query, every
    # workspace already at the latest. Empty: not known yet (migrate_schemas reads the schema).
    schema_state = models.CharField(max_length=32, blank=True, default="", editable=False)
    # The plan's feature flags (custom_branding, custom_domain, sso, priority_support), written
    # by billing through workspace_set_features: layers below billing (branding) gate on them
    # without importing billing.
    features = models.JSONField(default=dict, blank=True)
    # The plan's member limit (None: unlimited), written by billing through
    # workspace_set_member_limit; accounts reads it where members are invited.
    member_limit = models.PositiveIntegerField(null=True, blank=True)
    # What pages and emails show of the workspace's branding on every host (company name, footer,
    # welcome message, which images exist, the version that busts the stylesheet's cache): a
    # copy of branding's row (in the workspace's schema), written only by branding's service
    # through workspace_set_brand in the same transaction. Here because the workspace is
    # cached per host (tenants.selectors): a page reads it with no query, and accounts' emails,
    # a layer below branding, can read it.
    brand = models.JSONField(default=dict, blank=True)

    # tenants.services.workspace_create provisions the schema itself (replaying the template's
    # script in the caller's transaction), never django-tenants' save(), whose clone_schema
    # costs more with every workspace. Deleting a row never drops a schema by itself: only
    # workspace_delete does, on an operator's confirmed request.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]
        indexes = [
            # django-tenants' save() looks for a schema name that differs only in case
            # (schema_name__iexact) before adding a workspace: without this, a scan of every row.
            models.Index(Upper("schema_name"), name="workspace_schema_name_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @staticmethod
    def schema_name_for(slug: str) -> str:
        return "ws_" + slug.replace("-", "_")


def domain_token() -> str:
    return secrets.token_urlsafe(24)


class Domain(DomainMixin):
    """A custom domain of a workspace. Only verified domains route traffic.

    Verified means a TXT record `_tollgate.<domain>` holding `tollgate-verify=<token>` was found
    (branding.domains resolves it); a verified domain is checked again daily and dropped
    (verified_at cleared) after DOMAIN_MAX_FAILURES failed checks in a row.
    """

    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verification_token = models.CharField(max_length=64, default=domain_token, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    check_failures = models.PositiveIntegerField(default=0)
    last_check_error = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return self.domain


class SchemaSnapshot(models.Model):
    """The template schema (TENANT_BASE_SCHEMA) as one SQL script, for one migration state.

    Made by tenants.provisioning.snapshot when migrate_schemas has migrated the template (or
    by the first workspace created after that), replayed for every new workspace.
    """

    state = models.CharField(max_length=32, unique=True)
    sql = models.TextField()
    statements = models.PositiveIntegerField()
    # Tables of other schemas (public's) the script's foreign keys reference, quoted and qualified.
    referenced = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"template schema at {self.state} ({self.statements} statements)"
