"""A/B runs of (b) under load: what one part of the metered path costs, measured, not guessed.

    .venv/bin/python -m bench.metering.ab base: ping:ping instant:instant-script [--rounds 7]

Each argument NAME:ABLATIONS starts one gunicorn (as bench/metering/run.py does: same
settings, 4 sync workers) with BENCH_ABLATE=ABLATIONS (bench/metering/ablations.py; empty:
the product as it is), all on one private Redis and PostgreSQL at nice -20. --tree NAME=PATH
serves variant NAME from another checkout (the same database schema), e.g. the last commit:

    git worktree add /tmp/tollgate-head HEAD
    .venv/bin/python -m bench.metering.ab head: new: --tree head=/tmp/tollgate-head

wrk then drives (a) and (b) of every gunicorn in turn, rounds interleaved and alternating, so
each variant's (b)/(a) comes from its own (a) measured seconds apart, and each variant's (b)
is compared with the first's round by round. Only one gunicorn is busy at a time. Root only
(--nice).
"""

import argparse
import atexit
import json
import statistics
from pathlib import Path

from bench.harness import ROOT, VAR, Gunicorn, ensure_database, free_port, log, run_python
from bench.metering import ablations
from bench.metering.run import PrivatePostgres, PrivateRedis, check, server_env, wrk

NICE = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="NAME:ABLATIONS, e.g. base: or instant:instant-script")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                        help="serve variant NAME from the checkout at PATH (repeatable)")
    args = parser.parse_args()
    variants = dict(v.split(":", 1) if ":" in v else (v, "") for v in args.variants)
    trees = {name: Path(path).resolve() for name, _, path in (t.partition("=") for t in args.tree)}
    if unknown := set(trees) - set(variants):
        raise SystemExit(f"--tree names no variant: {sorted(unknown)}")

    redis, postgres = PrivateRedis(NICE), PrivatePostgres(NICE)
    atexit.register(redis.stop)
    atexit.register(postgres.stop)
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "staticfiles").mkdir(exist_ok=True)
    redis_url = redis.start()
    database_url = postgres.start("tollgate_bench_metering")
    env = server_env(database_url, redis_url)
    ensure_database(database_url)
    run_python(env, "manage.py", "migrate", "--noinput", "-v", "0")
    keys = json.loads(run_python(env, "-m", "bench.metering.prepare").strip().splitlines()[-1])
    endpoints = {"a": ("/bench/metering/bare", ""), "b": ("/api/v1/analyze", f"Bearer {keys['tollgate']}")}
    servers: dict[str, tuple[Gunicorn, str]] = {}
    try:
        for name, ablate in variants.items():
            port = free_port()
            server = Gunicorn({**env, "BENCH_ABLATE": ablate}, port, 4, VAR / f"metering-ab-{name}.log", nice=NICE,
                              root=trees.get(name, ROOT))
            server.start()
            servers[name] = (server, f"http://127.0.0.1:{port}")
        targets = [(v, e) for v in variants for e in endpoints]
        for v, e in targets:
            url, auth = servers[v][1] + endpoints[e][0], endpoints[e][1]
            check(url, auth, metered=(e == "b" and not ablations.HEADERLESS & ablations.chosen(variants[v])))
            wrk(url, auth, duration=3, connections=16, threads=2, nice=NICE)  # warm-up
        rates: dict[tuple[str, str], list[float]] = {t: [] for t in targets}
        for r in range(args.rounds):
            for v, e in targets if r % 2 == 0 else reversed(targets):
                url, auth = servers[v][1] + endpoints[e][0], endpoints[e][1]
                result = wrk(url, auth, duration=args.duration, connections=16, threads=2, nice=NICE)
                if not result["valid"]:
                    raise SystemExit(f"{v} ({e}): responses other than 200: {result['statuses']}")
                rates[(v, e)].append(result["rps"])
            log(f"round {r + 1}: " + ", ".join(f"{v}.{e} {rates[(v, e)][-1]:.0f}" for v, e in targets))
    finally:
        for server, _ in servers.values():
            server.stop()
        redis.stop()
        postgres.stop()

    first = next(iter(variants))
    print(f"\n{args.rounds} rounds x {args.duration} s, req/s medians; (b)/(a) as ratio of medians / median of rounds")
    for v in variants:
        a, b = rates[(v, "a")], rates[(v, "b")]
        per_round = [y / x for x, y in zip(a, b, strict=True)]
        line = (f"{v:>12} [{variants[v] or 'as it is'}]: (a) {statistics.median(a):.0f}, (b) {statistics.median(b):.0f}, "
                f"(b)/(a) {statistics.median(b) / statistics.median(a):.2f} / {statistics.median(per_round):.2f}")
        if v != first:
            vs = [y / x for x, y in zip(rates[(first, "b")], b, strict=True)]
            line += f"; (b) vs {first}'s (b): {statistics.median(vs):.2f}"
        print(line)


if __name__ == "__main__":
    main()
