"""The key-authentication benchmark, end to end.

    .venv/bin/python -m bench.keyauth.run [--rounds 3] [--duration 10] [--connections 8] [--workers 2]

One gunicorn (deploy/gunicorn.conf.py; production settings plus bench.keyauth.settings)
serves one trivial DRF view twice, and wrk drives each in turn on loopback, same duration
and connections, rounds interleaved (open, keyed, info, open, keyed, info, ...):

  open   GET /bench/keyauth/open    the view with no authentication
  keyed  GET /bench/keyauth/keyed   the same view behind ApiKeyAuthentication + read scope
  info   GET /api/v1/info           for reference: the real key-authenticated info endpoint

It creates the database if missing, migrates it, makes the workspace and a key
(bench/keyauth/prepare.py), checks each endpoint answers 200, warms up, measures, prints
requests/s per endpoint (median of its rounds) and the ratio keyed/open (median of the
per-round ratios), and stops gunicorn. Every wrk response is counted by status: a run with
anything but 200 is invalid. Before each round it waits (--quiet-wait) for the machine to be
quiet, and a round during which other processes took more than --max-other-load of the
machine is measured again (--retries); the largest such share is printed with the figures.
Needs wrk (apt-get install wrk). Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL.
"""

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys

from bench.harness import (  # noqa: E402
    STATUS_LUA,
    VAR,
    Gunicorn,
    ensure_database,
    free_port,
    get,
    log,
    machine_busy,
    machine_info,
    parse_wrk,
    run_python,
    wait_for_quiet,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tollgate_bench_keyauth"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"


_TICK = os.sysconf("SC_CLK_TCK")

def wrk(url: str, auth: str, *, duration: int, connections: int, threads: int, server: Gunicorn) -> dict:
    env = {**os.environ, "BENCH_AUTH": auth}
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", str(STATUS_LUA), url]
    cpu_before, wrk_before, machine_before = server.worker_cpu_seconds(), _children_cpu(), machine_busy()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60).stdout
    cpu_after, wrk_after, machine_after = server.worker_cpu_seconds(), _children_cpu(), machine_busy()
    result = parse_wrk(out)
    statuses = result["statuses"]
    requests = sum(statuses.values())
    cpu = sum(end - cpu_before.get(pid, 0.0) for pid, end in cpu_after.items())
    result["cpu_us_per_request"] = round(1e6 * cpu / requests, 1) if requests else 0.0
    # The share of the machine's CPU that neither our workers nor wrk used (other people's
    # work on a shared machine, plus PostgreSQL/Redis, which these endpoints don't touch):
    # the figures are only fair when it is small.
    busy = (machine_after[0] - machine_before[0]) / _TICK
    total = (machine_after[1] - machine_before[1]) / _TICK
    result["others_share"] = round(max(0.0, busy - cpu - (wrk_after - wrk_before)) / total, 3) if total else 0.0
    if not result["valid"]:
        log(f"INVALID run of {url}: statuses {statuses}\n{out}")
    return result


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    info = machine_info()
    return f"{info['date']}, {info['cores']} x {info['cpu']}, Python {info['python']}, {info['wrk']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn sync workers (default: cores)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint (default 3)")
    parser.add_argument("--max-other-load", type=float, default=0.10,
                        help="share of the machine other processes may take during a round (default 0.10)")
    parser.add_argument("--retries", type=int, default=3, help="re-measure a noisier round up to this often (default 3)")
    parser.add_argument("--quiet-wait", type=int, default=120,
                        help="seconds to wait at most for the machine to be quiet before a round (default 120)")
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    (VAR / "staticfiles").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.keyauth.settings",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY", "bench-keyauth-only-not-a-secret-0123456789abcdef"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "GUNICORN_ACCESSLOG"):
        env.pop(name, None)

    log(f"{machine()}; gunicorn {args.workers} sync workers; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s x {args.rounds} rounds")
    ensure_database(database_url)
    log("migrating")
    run_python(env, "manage.py", "migrate", "--noinput", "-v", "0")
    key = json.loads(run_python(env, "-m", "bench.keyauth.prepare").strip().splitlines()[-1])["key"]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    targets = {
        "open": (f"{base}/bench/keyauth/open", ""),
        "keyed": (f"{base}/bench/keyauth/keyed", f"Bearer {key}"),
        "info": (f"{base}/api/v1/info", f"Bearer {key}"),
    }
    server = Gunicorn(env, port, args.workers, VAR / "keyauth-gunicorn.log")
    results: dict[str, list[dict]] = {name: [] for name in targets}

    def interrupted(signum, frame):
        raise KeyboardInterrupt  # so `finally` stops gunicorn

    signal.signal(signal.SIGTERM, interrupted)
    try:
        server.start()
        status, body = get(targets["keyed"][0])
        if status != 401:
            raise SystemExit(f"keyed endpoint answered {status} without a key: is it authenticated? {body[:200]!r}")
        for name, (url, auth) in targets.items():
            status, body = get(url, auth)
            if status != 200:
                raise SystemExit(f"{name}: {url} answered {status}: {body[:300]!r}")
            log(f"check {name}: 200 {body[:80].decode(errors='replace')}")
            wrk(url, auth, duration=args.warmup, connections=args.connections, threads=args.threads, server=server)
        for round_no in range(1, args.rounds + 1):
            for attempt in range(args.retries + 1):
                wait_for_quiet(args.max_other_load, args.quiet_wait)
                runs = {}
                for name, (url, auth) in targets.items():
                    runs[name] = wrk(url, auth, duration=args.duration, connections=args.connections,
                                     threads=args.threads, server=server)
                    log(f"round {round_no} {name:5}: {runs[name]['rps']:8.0f} req/s"
                        f"  p50 {runs[name]['latency_ms'].get('50')} ms  p99 {runs[name]['latency_ms'].get('99')} ms"
                        f"  worker CPU {runs[name]['cpu_us_per_request']} us/req"
                        f"  others {runs[name]['others_share']:.0%}  statuses {runs[name]['statuses']}")
                noisy = max(r["others_share"] for r in runs.values())
                if noisy <= args.max_other_load or attempt == args.retries:
                    break
                log(f"round {round_no}: other work took {noisy:.0%} of the machine; measuring the round again")
            for name, result in runs.items():
                results[name].append(result)
    finally:
        server.stop()

    if not all(r["valid"] for runs in results.values() for r in runs):
        log("some runs answered something other than 200: no figures")
        return 1
    median = {name: statistics.median(r["rps"] for r in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(r["cpu_us_per_request"] for r in runs) for name, runs in results.items()}
    # Each round's endpoints ran back to back: the median of the per-round ratios cancels
    # most of the drift a shared machine adds between rounds.
    paired = statistics.median(k["rps"] / o["rps"] for k, o in zip(results["keyed"], results["open"], strict=True))
    paired_info = statistics.median(i["rps"] / o["rps"] for i, o in zip(results["info"], results["open"], strict=True))
    others = max(r["others_share"] for runs in results.values() for r in runs)
    for name, label in (("open", "no authentication"), ("keyed", "API-key authentication"),
                        ("info", "/api/v1/info, key")):
        print(f"{name:5} {'(' + label + ')':26} {median[name]:8.0f} req/s  {cpu[name]:7.1f} us worker CPU/request")
    print(f"ratio keyed/open (median of per-round ratios)  {paired:6.3f}")
    print(f"ratio keyed/open, by worker CPU per request    {cpu['open'] / cpu['keyed']:6.3f}")
    print(f"ratio info/open (median of per-round ratios)   {paired_info:6.3f}")
    print(f"largest share of the machine other work took during a run: {others:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
