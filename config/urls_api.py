from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apikeys import api as keys_api
from auditing import api as audit_api
from metering import api as metering_api

urlpatterns = [
    path("v1/analyze", metering_api.AnalyzeApi.as_view(), name="api-analyze"),
    path("v1/limits", metering_api.LimitsApi.as_view(), name="api-limits"),
    path("v1/info", keys_api.InfoApi.as_view(), name="api-info"),
    path("v1/keys", keys_api.KeyListCreateApi.as_view(), name="api-keys"),
    path("v1/keys/<str:key_id>", keys_api.KeyDetailApi.as_view(), name="api-key"),
    path("v1/keys/<str:key_id>/revoke", keys_api.KeyRevokeApi.as_view(), name="api-key-revoke"),
    path("v1/keys/<str:key_id>/rotate", keys_api.KeyRotateApi.as_view(), name="api-key-rotate"),
    path("v1/audit-logs", audit_api.AuditLogListApi.as_view(), name="api-audit-logs"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
