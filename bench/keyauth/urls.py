"""The public site's URLs plus the key-authentication benchmark's pair of endpoints."""

from django.urls import path

from bench.keyauth import views
from config import urls_public

urlpatterns = [
    path("bench/keyauth/open", views.OpenPingApi.as_view(), name="bench-keyauth-open"),
    path("bench/keyauth/keyed", views.KeyedPingApi.as_view(), name="bench-keyauth-keyed"),
    *urls_public.urlpatterns,
]

handler404 = urls_public.handler404
handler500 = urls_public.handler500
