"""The API's routes, full paths: listed straight in every host's URLs (config/urls_common.py),
not through include(), so an API call is resolved in one step."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from apikeys import api as keys_api
from auditing import api as audit_api
from billing import api as billing_api
from billing.stripe import api as stripe_api
from branding import api as branding_api
from config import api_docs, errors
from metering import api as metering_api
from metering.analytics import api as analytics_api
from metering.demo_product import api as demo_api
from operators import urls as platform_urls

urlpatterns = [
    path("api/v1/analyze", demo_api.AnalyzeApi.as_view(), name="api-analyze"),
    path("api/v1/limits", metering_api.LimitsApi.as_view(), name="api-limits"),
    path("api/v1/info", metering_api.InfoApi.as_view(), name="api-info"),
    path("api/v1/usage", analytics_api.UsageApi.as_view(), name="api-usage"),
    path("api/v1/usage/summary", analytics_api.UsageSummaryApi.as_view(), name="api-usage-summary"),
    path("api/v1/usage/top", analytics_api.UsageTopApi.as_view(), name="api-usage-top"),
    path("api/v1/metrics", analytics_api.MetricsApi.as_view(), name="api-metrics"),
    path("api/v1/keys", keys_api.KeyListCreateApi.as_view(), name="api-keys"),
    path("api/v1/keys/<str:key_id>", keys_api.KeyDetailApi.as_view(), name="api-key"),
    path("api/v1/keys/<str:key_id>/revoke", keys_api.KeyRevokeApi.as_view(), name="api-key-revoke"),
    path("api/v1/keys/<str:key_id>/rotate", keys_api.KeyRotateApi.as_view(), name="api-key-rotate"),
    path("api/v1/audit-logs", audit_api.AuditLogListApi.as_view(), name="api-audit-logs"),
    path("api/v1/billing/plans", billing_api.PlanListApi.as_view(), name="api-billing-plans"),
    path("api/v1/billing/preview", billing_api.PreviewApi.as_view(), name="api-billing-preview"),
    path("api/v1/billing/spend-cap", billing_api.SpendCapApi.as_view(), name="api-billing-spend-cap"),
    *platform_urls.urlpatterns,  # /api/platform/v1/: operators, with operator tokens
    path("api/v1/branding", branding_api.BrandingApi.as_view(), name="api-branding"),
    path("api/v1/domains", branding_api.DomainListApi.as_view(), name="api-domains"),
    path("api/v1/domains/<int:domain_id>", branding_api.DomainDetailApi.as_view(), name="api-domain"),
    path("api/v1/domains/<int:domain_id>/verify", branding_api.DomainVerifyApi.as_view(), name="api-domain-verify"),
    path("api/v1/billing/subscription", stripe_api.BillingSubscriptionApi.as_view(), name="api-billing-subscription"),
    path("api/v1/billing/invoices", stripe_api.BillingInvoiceListApi.as_view(), name="api-billing-invoices"),
    path("api/v1/billing/checkout", stripe_api.BillingCheckoutApi.as_view(), name="api-billing-checkout"),
    path("api/v1/billing/portal", stripe_api.BillingPortalApi.as_view(), name="api-billing-portal"),
    path("api/v1/billing/change-plan", stripe_api.BillingChangePlanApi.as_view(), name="api-billing-change-plan"),
    path("api/v1/billing/cancel", stripe_api.BillingCancelApi.as_view(), name="api-billing-cancel"),
    path("api/v1/billing/reactivate", stripe_api.BillingReactivateApi.as_view(), name="api-billing-reactivate"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs.SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", api_docs.RedocView.as_view(url_name="schema"), name="api-redoc"),
    # Last: any other /api/ path is a 404 problem here, also where DEBUG would answer Django's
    # HTML 404 page (make run) instead of calling handler404.
    re_path(r"^api/", errors.api_not_found, name="api-not-found"),
]
