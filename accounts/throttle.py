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
from django_ratelimit import ALL
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


def _usage(request, *, group: str, key, rate: str, method=("POST",)) -> dict | None:
    try:
        return get_usage(request, group=group, key=key, rate=rate, method=method, increment=True)
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


def failures_wait(request, *, group: str, rate: str) -> int | None:
    """For a credential checked on every call, whatever its method (operator tokens): the seconds
    this address must wait because it failed `rate`'s number of times in the window, else None.
    Counts nothing (`failure_count` does, on a failure only, so a good credential is never slowed)."""
    limit, _period = _rate(rate)
    try:
        usage = get_usage(request, group=group, key="ip", rate=rate, method=ALL, increment=False)
    except redis.RedisError:
        value = request.META.get("REMOTE_ADDR", "")
        with _local_lock:
            _, period = _rate(rate)
            now = _clock()
            count = _local.get((group, f"ip:{value}", period, int(now // period)), 0)
        return max(1, int((int(now // period) + 1) * period - now)) if count >= limit else None
    if usage and usage["count"] >= limit:
        return max(1, int(usage["time_left"]))
    return None


def failure_count(request, *, group: str, rate: str) -> None:
    """Count one failed attempt from this address (see failures_wait)."""
    _usage(request, group=group, key="ip", rate=rate, method=ALL)


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
