"""The public site's URLs plus the two comparison endpoints of the metering benchmark."""

import os

from django.urls import include, path

from bench.metering import views
from config import urls_public

if os.environ.get("BENCH_ABLATE"):  # bench/metering/ab.py's what-if variants only
    from bench.metering import ablations

    ablations.apply(os.environ["BENCH_ABLATE"])

# One prefix in front of the product's URLs, not three patterns: a request to /api/v1/analyze
# is resolved past one failed check, about as in production (the API's routes come first there).
urlpatterns = [
    path("bench/metering/", include([
        path("bare", views.BareApi.as_view(), name="bench-metering-bare"),
        path("assembled", views.AssembledApi.as_view(), name="bench-metering-assembled"),
        path("redis-floor", views.RedisFloorApi.as_view(), name="bench-metering-redis-floor"),
    ])),
    *urls_public.urlpatterns,
]

handler404 = urls_public.handler404
handler500 = urls_public.handler500
