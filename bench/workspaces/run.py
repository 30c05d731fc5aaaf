"""The workspaces benchmark (issue 20), end to end; figures in bench/README.md, "Workspaces at scale".

    .venv/bin/python -m bench.workspaces.run [--scales 0,1000,10000] [--creations 50] [--keep]

On a database of its own (BENCH_DATABASE_URL, default tollgate_bench_workspaces on the
machine's PostgreSQL at 127.0.0.1:5432, dropped and made afresh; dropped again at the end
unless --keep) and Redis DB 12 (BENCH_REDIS_URL), production settings plus a bench-only
tenant app (bench/workspaces/settings.py). At each scale, the number of workspaces existing:
  - setup: workspaces bulk-made up to that number (bench/workspaces/scale.py grow);
  - creation: --creations workspaces through tenants.services.workspace_create (p50/p95),
    and --signups signups through accounts.services.signup (production password hasher);
  - migrate_schemas with nothing to migrate (wall time of `manage.py migrate_schemas`);
  - the metered request: gunicorn (4 sync workers) and wrk POST /api/v1/analyze, rounds
    alternating one key (127.0.0.1) and the keys of --active-keys workspaces in turn (each on
    its workspace's host, bench/status.lua with BENCH_KEYS_FILE), after a warm-up that fills every
    worker's caches; table lookups and transactions per request from pg_stat;
  - PostgreSQL's memory (PSS of the server's processes, the largest backend's private
    memory) and the catalog's size.
After the 1,000 scale: a real one-column migration (benchapp 0002, AddField) over every
workspace, `migrate_schemas --parallel P`. After the last scale: --long-lived creations
in one process, with the connection closed after each commit (as shipped) and kept.
Prints one JSON document; progress and the machine's load on stderr.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import (
    PY,
    ROOT,
    STATUS_LUA,
    VAR,
    Gunicorn,
    free_port,
    log,
    machine_busy,
    machine_info,
    parse_wrk,
    wait_for_quiet,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tollgate_bench_workspaces"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
KEYS_FILE = VAR / "workspaces_keys.txt"
_TICK = os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, args):
        self.args = args
        self.database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        self.redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.workspaces.settings",
            "DJANGO_SECRET_KEY": "bench-workspaces-only-not-a-secret-0123456789abcdef",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "BENCH_MIGRATIONS": "v1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"):
            self.env.pop(name, None)
        self.results: dict = {"machine": machine_info(), "scales": {}}

    # -- plumbing -----------------------------------------------------------------------------

    def python(self, *args: str, timeout: float = 7200) -> str:
        done = subprocess.run([PY, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        sys.stderr.write(done.stderr[-4000:] if done.returncode else "")
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:])
            raise SystemExit(f"failed: {' '.join(args)}")
        return done.stdout

    def scale(self, *args: str) -> dict:
        return json.loads(self.python("-m", "bench.workspaces.scale", *args).strip().splitlines()[-1])

    def timed(self, label: str, *args: str) -> tuple[float, str, dict]:
        """Run `python args`; (wall seconds, stdout, the machine's load meanwhile)."""
        busy0, total0, _ = machine_busy()
        started = time.monotonic()
        out = self.python(*args)
        seconds = time.monotonic() - started
        busy1, total1, _ = machine_busy()
        load = {"machine_busy": round((busy1 - busy0) / max(1, total1 - total0), 2), "loadavg": _loadavg()}
        log(f"{label}: {seconds:.1f} s ({load})")
        return seconds, out, load

    def admin(self, sql: str) -> None:
        import psycopg

        admin_url = self.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def query(self, sql: str):
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    # -- steps --------------------------------------------------------------------------------

    def reset(self) -> None:
        name = self.database_url.rsplit("/", 1)[1]
        log(f"database {name}: made afresh")
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin(f'CREATE DATABASE "{name}"')
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        KEYS_FILE.unlink(missing_ok=True)
        (VAR / "staticfiles").mkdir(parents=True, exist_ok=True)
        seconds, _, load = self.timed("migrate_schemas on an empty database", "manage.py", "migrate_schemas",
                                      "--noinput", "-v", "0")
        self.results["migrate_empty_database_s"] = round(seconds, 1)

    def at(self, n: int, *, last: bool) -> None:
        out: dict = {}
        self.results["scales"][str(n)] = out
        if n:
            seconds, stdout, load = self.timed(f"setup: bulk-made workspaces up to {n}", "-m", "bench.workspaces.scale",
                                               "grow", "--to", str(n))
            out["setup"] = {**json.loads(stdout.strip().splitlines()[-1]), "load": load}
            # Setup wrote gigabytes at 10,000: written out now, not during the measurements.
            self.admin("CHECKPOINT")
        _, stdout, load = self.timed(f"{self.args.creations} creations at {n}", "-m", "bench.workspaces.scale",
                                     "create", "--count", str(self.args.creations))
        out["workspace_create"] = {**json.loads(stdout.strip().splitlines()[-1]), "load": load}
        log(f"workspace_create at {n}: {out['workspace_create']}")
        if self.args.signups:
            out["signup"] = self.scale("signup", "--count", str(self.args.signups))
            log(f"signup at {n}: {out['signup']}")
        seconds, stdout, load = self.timed(f"migrate_schemas, nothing to migrate, at {n}", "manage.py",
                                           "migrate_schemas", "--noinput", "-v", "0")
        out["migrate_nothing"] = {"seconds": round(seconds, 1), "summary": _summary_line(stdout), "load": load}
        if self.args.metered:
            out["keys"] = self.scale("keys", "--count", str(min(n, self.args.active_keys)))
            out["metered"] = self.metered(keys=out["keys"]["keys"])
        out["postgres"] = self.scale("catalog")
        log(f"PostgreSQL at {n}: {out['postgres']}")
        if n == self.args.migrate_at:
            self.env["BENCH_MIGRATIONS"] = "v2"
            seconds, stdout, load = self.timed(
                f"one-column migration over every workspace at {n}", "manage.py", "migrate_schemas", "--noinput",
                "-v", "0", "--parallel", str(self.args.parallel))
            out["one_column_migration"] = {"seconds": round(seconds, 1), "summary": _summary_line(stdout),
                                           "processes": self.args.parallel, "load": load}
        if last and self.args.long_lived:
            for keep in (False, True):
                extra = ("--keep-connection",) if keep else ()
                _, stdout, load = self.timed(f"{self.args.long_lived} creations in one process (keep={keep})",
                                             "-m", "bench.workspaces.scale", "create", "--count",
                                             str(self.args.long_lived), *extra)
                out["long_lived_kept" if keep else "long_lived"] = {**json.loads(stdout.strip().splitlines()[-1]),
                                                                    "load": load}

    def metered(self, *, keys: int) -> dict:
        server = Gunicorn({**self.env, "DATABASE_CONN_MAX_AGE": "600"}, free_port(), 4, VAR / "workspaces-gunicorn.log")
        server.start()
        try:
            share = wait_for_quiet(0.3, 120)
            log(f"metered runs start with the machine {share:.0%} busy")
            url = f"http://127.0.0.1:{server.port}/api/v1/analyze"
            one_key = KEYS_FILE.read_text().split("\n", 1)[0].split()[1]
            runs = {"one key": (False, one_key)}  # (rotate through KEYS_FILE, the one key)
            if keys:
                runs[f"{keys} keys and hosts"] = (True, None)
            # Every worker needs each key (and host) once before it serves it from memory, and the
            # kernel hands each request to any worker: covering 4 x 1,000 (key, worker) pairs at
            # random takes ~4,000 x ln(4,000) requests (--warmup seconds at ~500/s).
            self.wrk(url, *runs["one key"], duration=3)
            if keys:
                self.wrk(url, True, None, duration=self.args.warmup)
            time.sleep(15)  # a backend publishes its counters 10 s after it goes idle
            before = self._transactions()
            lookups_before = self._lookups()
            figures: dict[str, list] = {name: [] for name in runs}
            for _ in range(self.args.rounds):
                for name, (rotate, key) in runs.items():
                    figures[name].append(self.wrk(url, rotate, key, duration=self.args.duration))
            time.sleep(15)
            transactions = self._transactions() - before
            lookups = self._lookups() - lookups_before
            serving = self.postgres_memory()
        finally:
            server.stop()
        requests = sum(sum(r["statuses"].values()) for rounds in figures.values() for r in rounds)
        out: dict = {name: {"rps": [r["rps"] for r in rounds], "p50_ms": [r["latency_ms"].get("50") for r in rounds],
                      "p99_ms": [r["latency_ms"].get("99") for r in rounds], "valid": all(r["valid"] for r in rounds),
                      "statuses": [r["statuses"] for r in rounds], "machine_busy": [r["machine_busy"] for r in rounds]}
               for name, rounds in figures.items()}
        # Transactions include apikeys.last_used's flush (one UPDATE per key used, per worker, each
        # minute, off the request path); the lookups are what a cache miss would read.
        out["sql_transactions_per_request"] = round(transactions / max(1, requests), 4)
        out["workspace_domain_policy_lookups_per_request"] = round(lookups / max(1, requests), 4)
        out["requests"] = requests
        out["gunicorn_backends"] = serving
        log(f"metered: {out}")
        return out

    def wrk(self, url: str, rotate: bool, key: str | None, *, duration: int) -> dict:
        """One wrk run of bench/status.lua: with `key`, or (`rotate`) each request with the next
        host and key of KEYS_FILE."""
        env = {**os.environ, "BENCH_METHOD": "POST", "BENCH_BODY": '{"text": "hi"}'}
        if rotate:
            env["BENCH_KEYS_FILE"] = str(KEYS_FILE)
        if key:
            env["BENCH_AUTH"] = f"Bearer {key}"
        busy0, total0, _ = machine_busy()
        done = subprocess.run(["wrk", "-t2", "-c16", f"-d{duration}s", "--latency", "-s", str(STATUS_LUA), url],
                              env=env, capture_output=True, text=True, timeout=duration + 120)
        busy1, total1, _ = machine_busy()
        result = parse_wrk(done.stdout)
        result["machine_busy"] = round((busy1 - busy0) / max(1, total1 - total0), 2)
        if not result["valid"]:
            log(f"wrk run not all 200: {result['statuses']}\n{done.stdout}{done.stderr}")
        return result

    def _lookups(self) -> int:
        return self.query("SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::bigint FROM pg_stat_user_tables "
                          "WHERE schemaname = 'public' AND relname IN ('tenants_workspace', 'tenants_domain', "
                          "'metering_policy')")[0][0]

    def _transactions(self) -> int:
        return self.query("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                          "WHERE datname = current_database()")[0][0]

    def postgres_memory(self) -> dict:
        """Memory of the PostgreSQL backends connected to the bench database (private: what
        each holds of its own, caches included) and PSS of the server's own processes."""
        pids = [pid for (pid,) in self.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        private = [_private_kb(pid) for pid in pids]
        private = [kb for kb in private if kb is not None]
        return {"backends": len(private), "backends_private_mb": round(sum(private) / 1024, 1),
                "largest_backend_private_mb": round(max(private, default=0) / 1024, 1)}

    def drop(self) -> None:
        name = self.database_url.rsplit("/", 1)[1]
        log(f"dropping database {name}")
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        KEYS_FILE.unlink(missing_ok=True)
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()


def _private_kb(pid: int) -> int | None:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
    return fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _summary_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if line.startswith("Workspaces:")), stdout.strip()[-300:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0,1000,10000", help="numbers of existing workspaces (default 0,1000,10000)")
    parser.add_argument("--creations", type=int, default=50, help="workspace_create calls measured per scale")
    parser.add_argument("--signups", type=int, default=10, help="signups measured per scale (0: none)")
    parser.add_argument("--migrate-at", type=int, default=1000, help="scale after which the one-column migration runs")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 2, help="processes for that migration")
    parser.add_argument("--long-lived", type=int, default=150, help="creations in one process at the last scale")
    parser.add_argument("--active-keys", type=int, default=1000,
                        help="workspaces whose keys (and hosts) the metered runs use in turn (default 1000)")
    parser.add_argument("--warmup", type=int, default=90, help="seconds of warm-up over those keys (default 90)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--no-metered", dest="metered", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.metered and subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is missing: apt-get install wrk (or --no-metered)")
    bench = Bench(args)
    started = time.monotonic()
    scales = [int(s) for s in args.scales.split(",")]
    log(f"machine: {bench.results['machine']}; load average {_loadavg()}")
    bench.reset()
    try:
        for i, n in enumerate(scales):
            bench.at(n, last=i == len(scales) - 1)
    finally:
        if not args.keep:
            bench.drop()
    bench.results["total_minutes"] = round((time.monotonic() - started) / 60, 1)
    print(json.dumps(bench.results, indent=1))


if __name__ == "__main__":
    main()
