"""Where the metered request's time goes, measured in process (no gunicorn, no wrk, no contention
with the load generator), as CPU microseconds per request. Run after bench/metering/run.sh has
prepared the bench database (it reads var/bench/metering_keys.json):

    DJANGO_SECRET_KEY=... DATABASE_URL=... REDIS_URL=... \\
        .venv/bin/python -m bench.metering.breakdown          (run.sh --breakdown sets these)

1. the three endpoints through the whole Django stack (the WSGI app called directly);
2. (b) again with one more part of the metered path replaced each time, so each difference is
   that part's cost: the metering call beyond a bare Redis round trip (engine.check replaced by a
   PING), the round trip itself (no Redis at all), the rate-limit headers, the analysis;
3. the pieces of engine.check on their own: the cached plan and what building one costs, the
   EVALSHA round trip, a PING round trip on the same connection and through redis-py's client
   for reference, decoding the reply, the headers.

Only this process is patched, for the measurement; nothing is changed on disk.
"""

import io
import json
import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.metering.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from apikeys import authentication  # noqa: E402
from core.redis import execute, get_redis  # noqa: E402
from metering import engine, headers, windows  # noqa: E402
from metering.demo_product import analysis  # noqa: E402
from metering.policy import policy_for  # noqa: E402

BODY = b'{"text": "hi"}'
KEYS = json.loads((Path(settings.BASE_DIR) / "var" / "bench" / "metering_keys.json").read_text())
app = get_wsgi_application()


def _environ(path: str, auth: str) -> dict:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(BODY)),
        "wsgi.input": io.BytesIO(BODY), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if auth:
        environ["HTTP_AUTHORIZATION"] = auth
    return environ


def _call(path: str, auth: str) -> str:
    status = []
    body = app(_environ(path, auth), lambda s, h, exc_info=None: status.append(s))
    b"".join(body)
    body.close()
    return status[0]


def _best_us(fn, n: int, clock=time.process_time, repeats: int = 3) -> float:
    """Best of `repeats` runs of n calls, microseconds per call by `clock` (CPU by default; the best
    is the least disturbed)."""
    for _ in range(min(n, 300)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        for _ in range(n):
            fn()
        best = min(best, (clock() - start) / n * 1e6)
    return best


def main() -> None:
    n = int(os.environ.get("BREAKDOWN_N", "3000"))
    bearer, drf = f"Bearer {KEYS['tollgate']}", f"Api-Key {KEYS['drf']}"
    for path, auth in (("/bench/metering/bare", ""), ("/api/v1/analyze", bearer), ("/bench/metering/assembled", drf)):
        status = _call(path, auth)
        if not status.startswith("200"):
            raise SystemExit(f"{path} answered {status}")

    rows = []

    def row(label: str, path: str, auth: str) -> float:
        us = _best_us(lambda: _call(path, auth), n)
        rows.append((label, us))
        print(f"  {us:7.0f} us  {label}", flush=True)
        return us

    print(f"1-2. CPU per request through Django (WSGI app called in process; best of 3 x {n}):")
    a = row("(a) bare DRF", "/bench/metering/bare", "")
    c = row("(c) DRF + drf-api-key + django-ratelimit", "/bench/metering/assembled", drf)
    b = row("(b) /api/v1/analyze, as it is", "/api/v1/analyze", bearer)
    key = authentication.verify(KEYS["tollgate"])
    costs = {"requests": 1, "tokens": 1}
    decision = engine.check(workspace=key.workspace, costs=costs, request_id="r" * 32, key=key, endpoint="/api/v1/analyze")
    real_check, real_apply, real_analyze = engine.check, headers.apply, analysis.analyze
    client = get_redis()

    def ping_then_decision(**kwargs):
        execute("PING")  # on metering's own connection, as (d) does
        return decision

    try:
        engine.check = ping_then_decision
        b0 = row("(b) with engine.check replaced by one Redis PING + a constant decision", "/api/v1/analyze", bearer)
        engine.check = lambda **kwargs: decision
        b1 = row("(b) with engine.check replaced by a constant decision (no Redis at all)", "/api/v1/analyze", bearer)
        headers.apply = lambda response, d: None
        b2 = row("(b) ... and no rate-limit headers", "/api/v1/analyze", bearer)
        analysis.analyze = lambda text: {"words": 1}
        b3 = row("(b) ... and analyze() answering {'words': 1} (what (a) answers)", "/api/v1/analyze", bearer)
    finally:
        engine.check, headers.apply, analysis.analyze = real_check, real_apply, real_analyze
    extra = b - a
    print(f"\n   (b) - (a) = {extra:.0f} us of CPU per request in the worker process, of which:")
    for label, us in (("engine.check beyond a bare round trip (args, packing, Lua, reply, decision)", b - b0),
                      ("one Redis round trip inside a request (a PING on metering's connection)", b0 - b1),
                      ("rate-limit headers (metering/headers.py: built and set)", b1 - b2),
                      ("analyze() and its larger JSON answer", b2 - b3),
                      ("the rest: key auth, scope permission, tenant switch, decorator", b3 - a)):
        print(f"  {us:7.0f} us  {100 * us / extra:4.0f} %  {label}")

    print("\n3. engine.check in pieces (CPU us per call; wall us where it waits on Redis):")
    at = windows.now()
    policy = policy_for(key.workspace)
    key_burst = (key.burst_limit, key.burst_window) if key.burst_limit else None
    captured = {}
    real_evalsha = engine._evalsha

    def capture(command):
        captured["command"] = command
        return real_evalsha(command)

    engine._evalsha = capture
    try:
        engine.check(workspace=key.workspace, costs=costs, request_id="r" * 32, key=key, endpoint="/api/v1/analyze")
    finally:
        engine._evalsha = real_evalsha
    command = captured["command"]
    reply = real_evalsha(command)
    plan = engine.plan_for(workspace_id=key.workspace.pk, policy=policy, meters=tuple(costs), key_id=key.key_id,
                           key_burst=key_burst, at=at)
    pieces = [
        ("engine.check, whole", lambda: real_check(workspace=key.workspace, costs=costs, request_id="r" * 32, key=key,
                                                   endpoint="/api/v1/analyze"), True),
        ("plan_for, cached (windows, packed EVALSHA head, RateLimit-Policy)", lambda: engine.plan_for(
            workspace_id=key.workspace.pk, policy=policy, meters=tuple(costs), key_id=key.key_id,
            key_burst=key_burst, at=at), False),
        ("_make_plan (what plan_for saves: once per window and policy)", lambda: engine._make_plan(
            workspace_id=key.workspace.pk, policy=policy, meters=tuple(costs), key_id=key.key_id,
            key_burst=key_burst, at=at), False),
        (f"EVALSHA round trip ({len(command)} bytes sent, {len(reply)} values back, "
         "on the thread's own connection)", lambda: real_evalsha(command), True),
        ("PING round trip on the same connection", lambda: execute("PING"), True),
        ("PING round trip through redis-py's client (pool, hooks)", client.ping, True),
        ("_decide (the reply into a Decision)", lambda: engine._decide(reply, plan, at), False),
        ("headers.build", lambda: headers.build(decision), False),
    ]
    for label, fn, waits in pieces:
        cpu = _best_us(fn, n)
        wall = f"  wall {_best_us(fn, n, time.perf_counter):6.1f}" if waits else " " * 13
        print(f"  {cpu:7.1f} us{wall}  {label}")
    print(f"\n   for comparison, (c) - (a) = {c - a:.0f} us")


if __name__ == "__main__":
    main()
