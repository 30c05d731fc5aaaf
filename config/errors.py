"""Error pages: HTML for pages, RFC 9457 problems under /api/."""

from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from core.problems import api_400, api_404, api_500
from tenants.middleware import is_api_path


def bad_request(request, exception=None):
    """What Django refuses before a view answers (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
    fields): a problem under /api/ (413 for the body), Django's plain 400 page elsewhere."""
    if is_api_path(request.path):
        return api_400(request, exception)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception=None):
    if is_api_path(request.path):
        return api_404(request, exception)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if is_api_path(request.path):
        return api_500(request)
    return render(request, "errors/500.html", status=500)


@csrf_exempt  # a 404 for every method: CSRF would answer an unknown POST with a 403 page
def api_not_found(request, *args, **kwargs):
    """The last /api/ route. Keeps CommonMiddleware's APPEND_SLASH redirect (/api/docs -> /api/docs/),
    which this catch-all would otherwise hide, for the methods it applies to."""
    if settings.APPEND_SLASH and request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return api_404(request)
