"""A workspace's host: <slug>.<BASE_DOMAIN> or a verified custom domain."""

from django.urls import path

from accounts import views as account_views
from apikeys import views as key_views
from auditing import views as audit_views
from branding import views as branding_views
from config.urls_common import common_patterns

urlpatterns = [
    *common_patterns,  # first: the API resolves in a few steps on every host
    path("", account_views.home, name="home"),
    path("auth/handoff/<str:token>/", account_views.handoff, name="handoff"),
    path("invite/<str:token>/", account_views.invitation, name="invitation"),
    path("members/", account_views.members, name="members"),
    path("members/<int:membership_id>/role/", account_views.member_role, name="member-role"),
    path("members/<int:membership_id>/<str:status>/", account_views.member_status, name="member-status"),
    path("members/<int:membership_id>/remove", account_views.member_remove, name="member-remove"),
    path("invitations/<int:invitation_id>/revoke/", account_views.invitation_revoke, name="invitation-revoke"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("audit/export", audit_views.audit_export, name="audit-export"),
    path("branding/", branding_views.branding_page, name="branding"),
    path("branding/theme.css", branding_views.theme_css, name="branding-theme"),
    path("branding/logo.png", branding_views.logo, name="branding-logo"),
    path("branding/favicon.png", branding_views.favicon, name="branding-favicon"),
    path("branding/domains/", branding_views.domain_add, name="domain-add"),
    path("branding/domains/<int:domain_id>/verify/", branding_views.domain_verify, name="domain-verify"),
    path("branding/domains/<int:domain_id>/remove/", branding_views.domain_delete, name="domain-remove"),
    path("keys/", key_views.key_list, name="keys"),
    path("keys/new/", key_views.key_create, name="key-create"),
    path("keys/secret/", key_views.key_secret, name="key-secret"),
    path("keys/<str:key_id>/revoke/", key_views.key_revoke, name="key-revoke"),
    path("keys/<str:key_id>/rotate/", key_views.key_rotate, name="key-rotate"),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
