"""The public site: the bare BASE_DOMAIN (and loopback names)."""

from django.contrib import admin
from django.urls import path

from accounts import views as account_views
from config.urls_common import common_patterns

admin.site.site_header = "Tollgate operators"

urlpatterns = [
    *common_patterns,  # first: the API resolves in a few steps on every host
    path("", account_views.landing, name="landing"),
    path("signup/", account_views.signup, name="signup"),
    path("workspaces/", account_views.workspaces, name="workspaces"),
    path("go/<slug:slug>/", account_views.go, name="go"),
    path("admin/", admin.site.urls),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
