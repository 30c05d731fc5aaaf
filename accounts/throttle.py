"""Throttles for login, signup and password reset (django-ratelimit), per IP and per email."""

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import get_usage


def _email_key(group, request):
    return (request.POST.get("username") or request.POST.get("email") or "").strip().lower() or "-"


def wait(request, *, group: str, per_ip: str, per_email: str | None = None) -> int | None:
    """Count this attempt; the seconds to wait when a limit is exceeded, else None."""
    if request.method != "POST":
        return None
    waits = []
    for key, rate in (("ip", per_ip), (_email_key, per_email)):
        if rate is None:
            continue
        usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)
        if usage and usage["should_limit"]:
            waits.append(max(1, int(usage["time_left"])))  # never 0 or negative at a window edge
    return max(waits) if waits else None


def check(request, *, group: str, per_ip: str, per_email: str | None = None):
    """Count this attempt; return a 429 page when a limit is exceeded, else None."""
    seconds = wait(request, group=group, per_ip=per_ip, per_email=per_email)
    return None if seconds is None else throttled_response(request, seconds)


def throttled_response(request, retry_after: int):
    minutes = max(1, round(retry_after / 60))
    response = render(request, "errors/429.html",
                      {"retry_after": retry_after, "minutes": minutes}, status=429)
    response["Retry-After"] = str(int(retry_after))
    return response


def login_wait(request) -> int | None:
    # One group for the dashboard's and the operator console's login: an account's attempts
    # count together wherever they are made, so splitting them across the two forms buys nothing.
    return wait(request, group="login", per_ip=settings.LOGIN_RATE_PER_IP, per_email=settings.LOGIN_RATE_PER_EMAIL)


def password_reset_check(request):
    return check(request, group="password_reset", per_ip=settings.PASSWORD_RESET_RATE,
                 per_email=settings.PASSWORD_RESET_RATE)


def signup_check(request):
    return check(request, group="signup", per_ip=settings.SIGNUP_RATE_PER_IP, per_email=settings.SIGNUP_RATE_PER_EMAIL)
