"""The Django side of the workspaces benchmark; bench/workspaces/run.py calls it, one process per step.

    DJANGO_SETTINGS_MODULE=bench.workspaces.settings python -m bench.workspaces.scale STEP [options]

Each step prints one JSON object on stdout:
  grow --to N            bulk-create workspaces until there are N (setup only: rows in bulk, each
                         schema replayed by the real tenants.provisioning.schema_provision, 25 a
                         transaction; no audit event per workspace)
  create --count M       M workspaces through tenants.services.workspace_create, the service signup
                         uses, one after another in this process; each call's wall time, and the
                         memory of the PostgreSQL backend this process talks to after each one
         --keep-connection   the same, with the connection kept after each commit (what the service did
                         before it closed it): the backend's memory growth shows why it is closed
  signup --count M       M signups through accounts.services.signup (user + workspace + owner, the
                         production password hasher): what a person waits for
  keys --count K         a key in each of the first K bulk workspaces (made once, kept in
                         var/bench/workspaces_keys.txt as "host key" lines), and a key in the
                         workspace bench-one (Pro with overrides: never refused) for the one-key runs
  catalog                database and catalog sizes, the biggest catalogs, pg_class/pg_attribute rows
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.workspaces.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402

from tenants.models import Workspace  # noqa: E402
from tenants.provisioning import snapshot as provisioning  # noqa: E402

KEYS_FILE = Path(__file__).resolve().parents[2] / "var" / "bench" / "workspaces_keys.txt"
BATCH = 25


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(_percentile(ms, 0.95), 1),
            "max_ms": round(max(ms), 1)}


def _backend_memory() -> tuple[int, int]:
    """(pid, bytes) of the PostgreSQL backend this process is connected to: its memory contexts' total."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), sum(total_bytes)::bigint FROM pg_backend_memory_contexts")
        return cursor.fetchone()


def grow(target: int) -> dict:
    started = time.monotonic()
    existing = Workspace.objects.count()
    snap = provisioning.current_snapshot()
    made = 0
    next_number = Workspace.objects.filter(slug__startswith="bulk-").count()
    while existing + made < target:
        count = min(BATCH, target - existing - made)
        slugs = [f"bulk-{next_number + i:05d}" for i in range(count)]
        with transaction.atomic():
            Workspace.objects.bulk_create([
                Workspace(name=slug, slug=slug, schema_name=Workspace.schema_name_for(slug), schema_state=snap.state)
                for slug in slugs])
            for slug in slugs:
                provisioning.schema_provision(schema_name=Workspace.schema_name_for(slug), snapshot=snap)
        made += count
        next_number += count
        if made % 1000 < BATCH:
            print(f"[bench] {existing + made} workspaces ({made / (time.monotonic() - started):.0f}/s)",
                  file=sys.stderr, flush=True)
    return {"workspaces": Workspace.objects.count(), "made": made, "seconds": round(time.monotonic() - started, 1)}


def create(count: int, keep_connection: bool) -> dict:
    from tenants.services import workspace_create

    if keep_connection:
        provisioning._release_connection = lambda: None
    tag = uuid.uuid4().hex[:6]
    existing = Workspace.objects.count()
    seconds, memory, pids = [], [], set()
    for i in range(count):
        started = time.perf_counter()
        workspace_create(name=f"Measured {i}", slug=f"m{tag}-{i}")
        seconds.append(time.perf_counter() - started)
        pid, size = _backend_memory()
        pids.add(pid)
        memory.append(size)
    tenth = max(1, count // 10)
    return {"existing": existing, **_summary(seconds),
            "first_tenth_p50_ms": round(statistics.median(seconds[:tenth]) * 1000, 1),
            "last_tenth_p50_ms": round(statistics.median(seconds[-tenth:]) * 1000, 1),
            "backend_memory_first_kb": memory[0] // 1024, "backend_memory_last_kb": memory[-1] // 1024,
            "backends_used": len(pids), "kept_connection": keep_connection}


def signup(count: int) -> dict:
    from accounts.services import signup as do_signup

    tag = uuid.uuid4().hex[:6]
    existing = Workspace.objects.count()
    seconds = []
    for i in range(count):
        started = time.perf_counter()
        do_signup(email=f"s{tag}-{i}@bench.test", password="a sound passphrase 42", full_name="Bench",
                  workspace_name=f"Signup {i}", slug=f"s{tag}-{i}")
        seconds.append(time.perf_counter() - started)
    return {"existing": existing, **_summary(seconds)}


def keys(count: int) -> dict:
    from apikeys.services import apikey_create
    from billing.services import catalogue_ensure, subscription_set_overrides, subscription_set_plan
    from tenants.selectors import workspace_get
    from tenants.services import workspace_create

    started = time.monotonic()
    lines = KEYS_FILE.read_text().splitlines() if KEYS_FILE.exists() else []
    have = {line.split()[0] for line in lines[1:]}
    catalogue_ensure()
    if not lines:
        one = workspace_get(slug="bench-one") or workspace_create(name="Bench one", slug="bench-one")
        subscription_set_plan(workspace=one, plan_slug="pro")
        huge = 10**12
        subscription_set_overrides(workspace=one, overrides={
            "burst": {"limit": 10_000_000, "window": 1},
            "meters": {"requests": {"hour": {"limit": huge, "hard": True}, "day": {"limit": huge, "hard": True}},
                       "tokens": {"day": {"limit": huge, "hard": True}}}})
        lines = [f"127.0.0.1 {apikey_create(workspace=one, name='bench', scopes=['read', 'write'])[1]}"]
    for workspace in Workspace.objects.filter(slug__startswith="bulk-").order_by("slug")[:count]:
        host = f"{workspace.slug}.localhost"
        if host not in have:
            lines.append(f"{host} {apikey_create(workspace=workspace, name='bench', scopes=['read', 'write'])[1]}")
    KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEYS_FILE.write_text("\n".join(lines) + "\n")
    KEYS_FILE.chmod(0o600)
    return {"keys": len(lines) - 1, "file": str(KEYS_FILE), "seconds": round(time.monotonic() - started, 1)}


def catalog() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        database = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' "
            "ORDER BY 2 DESC")
        sizes = cursor.fetchall()
        cursor.execute("SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute), "
                       "(SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_trigger "
                       "WHERE tgrelid = 'public.accounts_user'::regclass)")
        classes, attributes, namespaces, user_triggers = cursor.fetchone()
    return {"workspaces": Workspace.objects.count(), "database_mb": round(database / 2**20, 1),
            "catalog_mb": round(sum(size for _, size in sizes) / 2**20, 1),
            "biggest_catalogs_mb": {name: round(size / 2**20, 1) for name, size in sizes[:6]},
            "pg_class_rows": classes, "pg_attribute_rows": attributes, "schemas": namespaces,
            "triggers_on_accounts_user": user_triggers, **_user_writes(), **_every_schema()}


def _fresh():
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
                           dbname=db["NAME"], autocommit=True)


def _memory_kb(conn) -> int:
    return conn.execute("SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts").fetchone()[0] // 1024


def _user_writes() -> dict:
    """What every workspace's foreign key to accounts_user (auditlog_logentry.actor_id) costs a
    write to that table: its two RI triggers per workspace are loaded by each backend touching
    it, and a user's DELETE checks every workspace's table. Rolled back: nothing changes."""
    import psycopg

    with _fresh() as conn:
        user_id = conn.execute("SELECT min(id) FROM accounts_user").fetchone()[0]
        if user_id is None:
            return {}
        update = "UPDATE accounts_user SET last_login = last_login WHERE id = %s"
        started = time.perf_counter()
        with conn.transaction(force_rollback=True):
            conn.execute(update, [user_id])
        first = time.perf_counter() - started
        later = []
        for _ in range(20):
            started = time.perf_counter()
            with conn.transaction(force_rollback=True):
                conn.execute(update, [user_id])
            later.append(time.perf_counter() - started)
        memory = _memory_kb(conn)
        started = time.perf_counter()
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                conn.execute("DELETE FROM accounts_membership WHERE user_id = %s", [user_id])
                conn.execute("DELETE FROM accounts_user WHERE id = %s", [user_id])
            delete: object = round((time.perf_counter() - started) * 1000, 1)
        except psycopg.Error as exc:  # each workspace's check locks its table: the lock table can run out
            delete = f"failed after {time.perf_counter() - started:.1f} s: {str(exc).splitlines()[0]}"
    return {"user_update_first_on_fresh_backend_ms": round(first * 1000, 1),
            "user_update_then_ms": round(statistics.median(later) * 1000, 2),
            "backend_memory_after_user_update_kb": memory, "user_delete_ms": delete}


def _every_schema() -> dict:
    """A backend that reads one table in every workspace's schema (as a job looping over
    workspaces on one connection does): its time and the memory it keeps."""
    schemas = list(Workspace.objects.values_list("schema_name", flat=True))
    with _fresh() as conn:
        before = _memory_kb(conn)
        started = time.perf_counter()
        for schema in schemas:
            conn.execute(f'SELECT 1 FROM "{schema}".metering_usageevent LIMIT 1')
        seconds = time.perf_counter() - started
        after = _memory_kb(conn)
    return {"backend_reading_every_schema_s": round(seconds, 1),
            "backend_reading_every_schema_memory_kb": {"before": before, "after": after}}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("grow").add_argument("--to", type=int, required=True)
    c = sub.add_parser("create")
    c.add_argument("--count", type=int, default=50)
    c.add_argument("--keep-connection", action="store_true")
    sub.add_parser("signup").add_argument("--count", type=int, default=10)
    sub.add_parser("keys").add_argument("--count", type=int, required=True)
    sub.add_parser("catalog")
    args = parser.parse_args()
    if args.step == "grow":
        out = grow(args.to)
    elif args.step == "create":
        out = create(args.count, args.keep_connection)
    elif args.step == "signup":
        out = signup(args.count)
    elif args.step == "keys":
        out = keys(args.count)
    else:
        out = catalog()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
