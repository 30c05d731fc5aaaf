from django.db.models import QuerySet

from apikeys.models import ApiKey
from tenants.models import Workspace


def apikey_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("-created_at")


def apikey_get(*, workspace: Workspace, key_id: str) -> ApiKey | None:
    """Another workspace's key is not found, the same as a key that does not exist."""
    return ApiKey.objects.filter(workspace=workspace, key_id=key_id).first()
