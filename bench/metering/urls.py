"""The public site's URLs plus the two comparison endpoints of the metering benchmark."""

import os

from django.urls import path

from bench.metering import views
from config import urls_public

if os.environ.get("BENCH_ABLATE"):  # bench/metering/ab.py's what-if variants only
    from bench.metering import ablations

    ablations.apply(os.environ["BENCH_ABLATE"])

urlpatterns = [
    path("bench/metering/bare", views.BareApi.as_view(), name="bench-metering-bare"),
    path("bench/metering/assembled", views.AssembledApi.as_view(), name="bench-metering-assembled"),
    path("bench/metering/redis-floor", views.RedisFloorApi.as_view(), name="bench-metering-redis-floor"),
    *urls_public.urlpatterns,
]

handler404 = urls_public.handler404
handler500 = urls_public.handler500
