"""Reads of a workspace's branding (its own schema)."""

from django_tenants.utils import schema_context

from branding.models import Branding
from tenants.models import Workspace


def branding_get(*, workspace: Workspace) -> Branding:
    """The workspace's branding; an unsaved default one when it has none yet."""
    with schema_context(workspace.schema_name):
        return Branding.objects.order_by("pk").first() or Branding()


def lock_branding(*, workspace: Workspace) -> Branding:
    """The workspace's branding row, made if missing, locked until the transaction ends.
    The caller holds a transaction and the workspace's schema."""
    row = Branding.objects.select_for_update().order_by("pk").first()
    if row is None:
        Branding.objects.create()
        row = Branding.objects.select_for_update().order_by("pk").first()
    assert row is not None
    return row
