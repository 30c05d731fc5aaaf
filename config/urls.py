"""A workspace's host: <slug>.<BASE_DOMAIN> or a verified custom domain."""

from django.urls import path

from accounts import views as account_views
from apikeys import views as key_views
from auditing import views as audit_views
from billing import views as billing_views
from branding import views as branding_views
from config.urls_common import common_patterns
from dashboard import views as dashboard_views
from metering import views as usage_views

urlpatterns = [
    *common_patterns,  # first: the API resolves in a few steps on every host
    path("", dashboard_views.overview, name="home"),
    path("auth/handoff/<str:token>/", account_views.handoff, name="handoff"),
    path("invite/<str:token>/", account_views.invitation, name="invitation"),
    path("members/", account_views.members, name="members"),
    path("members/<int:membership_id>/role/", account_views.member_role, name="member-role"),
    path("members/<int:membership_id>/<str:status>/", account_views.member_status, name="member-status"),
    path("members/<int:membership_id>/remove", account_views.member_remove, name="member-remove"),
    path("invitations/<int:invitation_id>/revoke/", account_views.invitation_revoke, name="invitation-revoke"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("audit/export", audit_views.audit_export, name="audit-export"),
    path("usage/", usage_views.usage_page, name="usage"),
    path("usage/export.csv", usage_views.usage_export, name="usage-export"),
    path("billing/", billing_views.billing, name="billing"),
    path("billing/spend-cap/", billing_views.spend_cap, name="billing-spend-cap"),
    path("billing/invoices/<int:invoice_id>/", billing_views.invoice, name="billing-invoice"),
    # The keys page shows each key's usage; metering is above apikeys, so it is handed in here.
    path("keys/", key_views.key_list, {"key_usage": usage_views.key_usage}, name="keys"),
    path("branding/", branding_views.branding_page, name="branding"),
    path("branding/theme.css", branding_views.theme_css, name="branding-theme"),
    path("branding/logo.png", branding_views.logo, name="branding-logo"),
    path("branding/favicon.png", branding_views.favicon, name="branding-favicon"),
    path("branding/domains/", branding_views.domain_add, name="domain-add"),
    path("branding/domains/<int:domain_id>/verify/", branding_views.domain_verify, name="domain-verify"),
    path("branding/domains/<int:domain_id>/remove/", branding_views.domain_delete, name="domain-remove"),
    path("keys/new/", key_views.key_create, name="key-create"),
    path("keys/secret/", key_views.key_secret, name="key-secret"),
    path("keys/<str:key_id>/revoke/", key_views.key_revoke, name="key-revoke"),
    path("keys/<str:key_id>/rotate/", key_views.key_rotate, name="key-rotate"),
    path("settings/", dashboard_views.settings_page, name="settings"),
    path("settings/workspace/", dashboard_views.settings_workspace, name="settings-workspace"),
    path("settings/profile/", dashboard_views.settings_profile, name="settings-profile"),
    path("settings/password/", dashboard_views.settings_password, name="settings-password"),
    path("settings/sessions/end-others/", dashboard_views.settings_sessions_end, name="settings-sessions-end"),
    path("settings/leave/", dashboard_views.settings_leave, name="settings-leave"),
    path("settings/delete/", dashboard_views.settings_delete_workspace, name="settings-delete"),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
