"""The public site: the bare BASE_DOMAIN (and loopback names)."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from billing import views as billing_views
from branding import views as branding_views
from config.urls_common import common_patterns
from dashboard import views as dashboard_views

admin.site.site_header = "Tollgate operators"

urlpatterns = [
    *common_patterns,  # first: the API resolves in a few steps on every host
    path("", account_views.landing, name="landing"),
    path("signup/", dashboard_views.signup, name="signup"),
    path("pricing/", billing_views.pricing, name="pricing"),
    path("signup/confirm/<str:token>/", dashboard_views.signup_confirm, name="signup-confirm"),
    path("terms/", dashboard_views.legal_terms, name="terms"),
    path("privacy/", dashboard_views.legal_privacy, name="privacy"),
    # Caddy's on-demand TLS asks here before getting a certificate (deploy/Caddyfile.example).
    path("internal/tls-allowed", branding_views.tls_allowed, name="tls-allowed"),
    path("workspaces/", account_views.workspaces, name="workspaces"),
    path("go/<slug:slug>/", account_views.go, name="go"),
    # Ahead of the admin's own login: the same page, throttled and audited (accounts/views/login.py).
    path("admin/login/", account_views.operator_login, name="operator-login"),
    path("admin/", admin.site.urls),
    # Stripe's webhooks, verified per WebhookEndpoint row: /stripe/webhook/<uuid>/ (billing/webhooks.py)
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
