"""Throttles for login, signup and password reset (django-ratelimit), per IP and per email.

The counts live in Redis (Django's cache), shared by every process. While Redis fails they are
kept in this process instead, at the same rates: a login page must neither answer 500 nor stop
throttling because Redis is restarting (the fleet then admits up to processes x the rate).
"""

import logging
import threading
import time

import redis
from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_local_lock = threading.Lock()
_local: dict[tuple, int] = {}
_clock = time.time  # the in-process windows are cut by it (tests stop it)


def _rate(rate: str) -> tuple[int, int]:
    """'20/5m' -> (20, 300), as django-ratelimit reads it."""
    count, _, period = rate.partition("/")
    digits = period.rstrip("smhd") or "1"
    return int(count), int(digits) * _UNITS[period[-1]]


def _local_usage(group: str, key: str, rate: str) -> dict:
    limit, period = _rate(rate)
    now = _clock()
    window = int(now // period)
    with _local_lock:
        if len(_local) > 100_000:
            _local.clear()
        count = _local[(group, key, period, window)] = _local.get((group, key, period, window), 0) + 1
    return {"should_limit": count > limit, "time_left": int((window + 1) * period - now)}


def _usage(request, *, group: str, key, rate: str) -> dict | None:
    try:
        return get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)
    except redis.RedisError as exc:
        logger.warning("Redis failed (%s): %s throttle counted in this process", type(exc).__name__, group)
        value = request.META.get("REMOTE_ADDR", "") if key == "ip" else key(group, request)
        return _local_usage(group, f"{'ip' if key == 'ip' else 'email'}:{value}", rate)


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
        usage = _usage(request, group=group, key=key, rate=rate)
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
