"""/api/platform/v1/: the platform API's routes, full paths, spliced into config/urls_api.py
ahead of its catch-all (listed, not include()d, as the rest of the API)."""

from django.urls import path

from operators.api import monitoring, usage, workspaces

P = "api/platform/v1/"

urlpatterns = [
    path(f"{P}overview", monitoring.OverviewApi.as_view(), name="platform-overview"),
    path(f"{P}workspaces", workspaces.WorkspaceListCreateApi.as_view(), name="platform-workspaces"),
    path(f"{P}workspaces/<str:slug>", workspaces.WorkspaceDetailApi.as_view(), name="platform-workspace"),
    path(f"{P}workspaces/<str:slug>/suspend", workspaces.WorkspaceSuspendApi.as_view(), name="platform-workspace-suspend"),
    path(f"{P}workspaces/<str:slug>/reactivate", workspaces.WorkspaceReactivateApi.as_view(),
         name="platform-workspace-reactivate"),
    path(f"{P}workspaces/<str:slug>/plan", workspaces.WorkspacePlanApi.as_view(), name="platform-workspace-plan"),
    path(f"{P}workspaces/<str:slug>/members", workspaces.WorkspaceMembersApi.as_view(), name="platform-workspace-members"),
    path(f"{P}workspaces/<str:slug>/keys", workspaces.WorkspaceKeysApi.as_view(), name="platform-workspace-keys"),
    path(f"{P}workspaces/<str:slug>/usage/reset", usage.WorkspaceUsageResetApi.as_view(),
         name="platform-workspace-usage-reset"),
    path(f"{P}workspaces/<str:slug>/keys/<str:key_id>/usage/reset", usage.KeyUsageResetApi.as_view(),
         name="platform-key-usage-reset"),
    path(f"{P}workspaces/<str:slug>/monitoring", monitoring.WorkspaceMonitoringApi.as_view(),
         name="platform-workspace-monitoring"),
]
