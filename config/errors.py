"""Error pages: HTML for pages, RFC 9457 problems under /api/."""

from django.shortcuts import render

from core.problems import api_404, api_500
from tenants.middleware import is_api_path


def page_not_found(request, exception=None):
    if is_api_path(request.path):
        return api_404(request, exception)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if is_api_path(request.path):
        return api_500(request)
    return render(request, "errors/500.html", status=500)
