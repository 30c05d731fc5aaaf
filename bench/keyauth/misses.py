"""How long a refused key takes to verify, by why it is refused (issue 18, finding 7).

    .venv/bin/python -m bench.keyauth.misses [--n 2000]

An outside tester saw unknown key ids answered in 6.5 ms (median) and known ids with a wrong
secret in 3.1 ms: the unknown id cost a database query, the wrong secret only the HMAC. This
times apikeys.authentication.verify() in process (no HTTP, so the figures are the difference
itself) for a known id with a wrong secret, a fresh unknown id each time (its one lookup), the
same unknown id again (the negative cache) and the known key itself, and prints the median and
p90 of each, with the digests each path computed (apikeys.keys.digest, counted here).

It migrates the database given (BENCH_DATABASE_URL, default the keyauth bench's; Redis:
BENCH_REDIS_URL) and makes the keyauth bench's workspace and key (bench/keyauth/prepare.py).
"""

import argparse
import json
import os
import statistics
import sys
import time

from bench.harness import ensure_database, log, run_python

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tollgate_bench_keyauth"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"


def _measure(key_text: str, n: int) -> dict:
    import django

    django.setup()
    from apikeys import keys
    from apikeys.authentication import verify
    from apikeys.cache import keys as key_cache
    from apikeys.errors import InvalidApiKey

    computed = [0]
    digest = keys.digest

    def counted(secret: str) -> str:
        computed[0] += 1
        return digest(secret)

    keys.digest = counted  # this process only: the count shows each path's HMACs
    parsed = keys.parse(key_text)
    _, other_secret, _ = keys.generate()
    wrong = keys.render(parsed.environment, parsed.key_id, other_secret)
    repeated = keys.render(parsed.environment, keys.generate()[0], other_secret)

    def fresh() -> str:
        return keys.render(parsed.environment, keys.generate()[0], other_secret)

    cases = {
        "valid key (cached)": lambda: key_text,
        "known id, wrong secret (cached)": lambda: wrong,
        "unknown id, fresh each time (one lookup)": fresh,
        "unknown id, repeated (negative cache)": lambda: repeated,
    }
    verify(key_text)
    out = {}
    for name, make in cases.items():
        timings, digests = [], []
        for _ in range(n):
            text = make()
            before = computed[0]
            started = time.perf_counter_ns()
            try:
                verify(text)
            except InvalidApiKey:
                pass
            timings.append(time.perf_counter_ns() - started)
            digests.append(computed[0] - before)
        timings.sort()
        out[name] = {"median_us": round(statistics.median(timings) / 1000, 1),
                     "p90_us": round(timings[int(len(timings) * 0.9)] / 1000, 1),
                     "digests_per_call": statistics.mode(digests)}
    out["negative cache entries"] = len(key_cache._cache._misses)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child: the key comes in the environment, never on a command line
        print(json.dumps(_measure(os.environ["BENCH_MISSES_KEY"], args.n)))
        return
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.keyauth.settings",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY", "bench-keyauth-only-not-a-secret-0123456789abcdef"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
    }
    ensure_database(database_url)
    log("migrating")
    run_python(env, "manage.py", "migrate", "--noinput", "-v", "0")
    key = json.loads(run_python(env, "-m", "bench.keyauth.prepare").strip().splitlines()[-1])["key"]
    result = json.loads(run_python({**env, "BENCH_MISSES_KEY": key}, "-m", "bench.keyauth.misses", "--n", str(args.n),
                                   "--measure"))
    width = max(len(name) for name in result)
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"{name:<{width}}  median {figures['median_us']:>8} us  p90 {figures['p90_us']:>8} us  "
                  f"digests/call {figures['digests_per_call']}")
        else:
            print(f"{name:<{width}}  {figures}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
