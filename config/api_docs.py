"""/api/docs/ (Swagger UI) and /api/redoc/ (Redoc), served whole from our own static files.

drf-spectacular loads both UIs from a CDN by default: our CSP (`script-src 'self'`, no inline
script) blocked it and the page stayed blank, and an offline install can't reach a CDN anyway.
The UIs come from drf-spectacular-sidecar (SPECTACULAR_SETTINGS "SIDECAR"); Swagger UI's init
script is a separate same-origin file (`?script`, the split view) instead of an inline block,
and the templates under templates/api/ drop the stock pages' inline <style> and web fonts.

OPTIONS on these pages is answered with their methods and no body: DRF's default OPTIONS
renders endpoint metadata through the view's HTML template renderer, which has no template
for it (a 500).
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# Redoc styles itself with styled-components, which writes <style> elements at run time: its
# page alone allows inline styles (never inline scripts). It builds its search index in a
# worker made from a blob: URL.
REDOC_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class _OptionsAnswered:
    allowed_methods: list[str]  # the view's (django.views.View)

    def options(self, request, *args, **kwargs):
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})


class SwaggerView(_OptionsAnswered, SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


class RedocView(_OptionsAnswered, SpectacularRedocView):
    template_name = "api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = REDOC_POLICY
        return response
