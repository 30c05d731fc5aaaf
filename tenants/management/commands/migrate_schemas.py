"""manage.py migrate_schemas [--parallel N] [--schema S] [migrate's options]: every schema up to date.

1. public, then the template schema new workspaces are provisioned from (made if missing),
   through django-tenants' executor as before;
2. the template's script is written out for its new migration state (tenants.provisioning);
3. one query lists the workspaces whose recorded state is not the template's; those with
   none recorded yet (made before states were kept) are read from their own
   django_migrations, 500 per query, and skipped when already there;
4. the rest are migrated N at a time (processes; default: the CPU count), each on its own
   connection: a failure is reported with its schema and error and stops nothing else.
   Each one's state is then recorded from its django_migrations, so a rerun takes exactly
   the ones still behind.
Progress goes to stderr; a summary (migrated, skipped, failed with the error) to stdout.
Exit status 1 when a schema failed.

With an app label, a migration name, --fake, --fake-initial, --plan, --check, --prune or
--run-syncdb, or --executor, every schema goes through django-tenants' executor as before
(nothing skipped), then the states are read again. `migrate` maps here (django-tenants does
the same).
"""

import multiprocessing
import os
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.models import Workspace
from tenants.provisioning.ddl import quote_ident
from tenants.provisioning.snapshot import snapshot_refresh
from tenants.provisioning.state import schema_state, schema_states

# Options under which a run is not "everything to the latest": django-tenants handles those.
SPECIAL = ("app_label", "migration_name", "fake", "fake_initial", "plan", "check_unapplied", "prune",
           "run_syncdb", "executor")


@dataclass
class Outcome:
    schema: str
    error: str | None
    seconds: float


class Command(MigrateSchemasCommand):
    help = ("Migrate public, the template schema and every workspace behind it; workspaces already at "
            "the latest migration state are skipped, the others migrated in parallel.")

    def handle(self, *args, **options):
        if any(options.get(name) for name in SPECIAL):
            return self._as_django_tenants(*args, **options)
        # SyncCommon's parsing: sync_public / sync_tenant / schema_name from --shared, --tenant, --schema.
        super(MigrateSchemasCommand, self).handle(*args, **options)
        self.PUBLIC_SCHEMA_NAME = get_public_schema_name()
        self.verbosity = int(options.get("verbosity", 1))
        template = settings.TENANT_BASE_SCHEMA
        if self.schema_name and self.schema_name != self.PUBLIC_SCHEMA_NAME:
            return self._one(self.schema_name)
        if self.sync_public:
            self._serial(self.PUBLIC_SCHEMA_NAME)
        if not self.sync_tenant:
            return
        self._one(template, create=True)
        target = schema_state(template)
        behind = self._behind(target)
        skipped = Workspace.objects.count() - len(behind)
        processes = options.get("parallel") or os.cpu_count() or 1
        started = time.monotonic()
        outcomes = self._parallel(behind, processes=processes)
        # Workspaces made during the run from the template's previous script (they read it just
        # before it was replaced): one more pass over any not tried yet.
        tried = {o.schema for o in outcomes}
        late = [s for s in self._behind(target) if s not in tried]
        if late:
            outcomes += self._parallel(late, processes=processes)
        self._summary(outcomes, skipped=skipped, target=target, processes=processes,
                      seconds=time.monotonic() - started)

    # -- steps ------------------------------------------------------------------------------

    def _one(self, schema: str, *, create: bool = False) -> None:
        """Migrate one schema in this process (the template: made first if missing)."""
        if not schema_exists(schema):
            if not create:
                raise CommandError(f"Schema {schema!r} does not exist")
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_ident(schema)}")
        self._serial(schema)
        if schema == settings.TENANT_BASE_SCHEMA:
            snapshot = snapshot_refresh()
            if self.verbosity:
                self.stdout.write(f"Template {schema} written out for provisioning: state {snapshot.state}, "
                                  f"{snapshot.statements} statements.")
        else:
            _record_states([schema])

    def _serial(self, schema: str) -> None:
        run_migrations(self.args, self.options, "standard", schema)

    def _behind(self, target: str | None) -> list[str]:
        """Workspaces not at `target`: one query over the recorded states; a workspace with none
        recorded yet is read from its schema (and recorded)."""
        rows = list(Workspace.objects.exclude(schema_state=target).order_by("schema_name")
                    .values_list("schema_name", "schema_state"))
        unknown = [schema for schema, state in rows if not state]
        known: dict[str, str] = {}
        if unknown:
            _record_states(unknown)
            known = dict(Workspace.objects.filter(schema_name__in=unknown).values_list("schema_name", "schema_state"))
        return [schema for schema, state in rows if (state or known.get(schema)) != target]

    def _parallel(self, schemas: list[str], *, processes: int) -> list[Outcome]:
        if not schemas:
            return []
        options = {**self.options, "interactive": False,
                   "verbosity": self.verbosity if self.verbosity > 1 else 0}
        connection.close()  # forked children must not share this process's socket
        progress = _Progress(len(schemas), self.stderr)
        outcomes = []
        # The worker reaches the children by fork, not pickling: the options may hold streams.
        global _worker
        _worker = _Worker(self.args, options)
        context = multiprocessing.get_context("fork")
        with context.Pool(processes=min(processes, len(schemas))) as pool:
            for outcome in pool.imap_unordered(_migrate_in_child, schemas):
                outcomes.append(outcome)
                progress.step(failed=outcome.error is not None)
        progress.done()
        return outcomes

    def _summary(self, outcomes: list[Outcome], *, skipped: int, target: str | None, processes: int,
                 seconds: float) -> None:
        failed = [o for o in outcomes if o.error]
        migrated = len(outcomes) - len(failed)
        self.stdout.write(
            f"Workspaces: {migrated} migrated, {skipped} skipped (already at {target}), {len(failed)} failed"
            + (f" in {seconds:.1f} s ({min(processes, len(outcomes))} processes)" if outcomes else ""))
        for outcome in sorted(failed, key=lambda o: o.schema):
            self.stdout.write(self.style.ERROR(f"FAILED {outcome.schema}: {outcome.error}"))
        if failed:
            raise CommandError(f"{len(failed)} workspace schema(s) failed to migrate; run migrate_schemas again "
                               "once the cause is fixed (the others are done and will be skipped)")

    def _as_django_tenants(self, *args, **options):
        super().handle(*args, **options)
        schema = options.get("schema_name")
        if options.get("plan") or options.get("check_unapplied"):
            return
        if not schema and not options.get("shared"):
            template = settings.TENANT_BASE_SCHEMA
            if not schema_exists(template):
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE SCHEMA {quote_ident(template)}")
            self._executor().run_migrations(tenants=[template])
        if not schema or schema == settings.TENANT_BASE_SCHEMA:
            snapshot_refresh()
        _record_states([schema] if schema else list(Workspace.objects.values_list("schema_name", flat=True)))

    def _executor(self):
        from django_tenants.management.commands.migrate_schemas import GET_EXECUTOR_FUNCTION

        return GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)


_worker: "_Worker | None" = None


def _migrate_in_child(schema: str) -> "Outcome":
    assert _worker is not None
    return _worker(schema)


class _Worker:
    """Migrates one workspace's schema in a pool process; never raises (the error is the outcome)."""

    def __init__(self, args, options):
        self.args = args
        self.options = options

    def __call__(self, schema: str) -> Outcome:
        started = time.monotonic()
        error = None
        try:
            run_migrations(self.args, self.options, "parallel", schema, allow_atomic=False)
        except Exception as exc:  # reported with the schema, the others go on
            error = f"{type(exc).__name__}: {exc}".strip()
        finally:
            # A fresh backend for each schema: one that touched thousands of schemas would keep
            # all their relations in its caches.
            connection.close()
            connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' backend
        try:
            _record_states([schema])
        except Exception as exc:
            error = error or f"recording its migration state failed: {exc}"
        finally:
            connection.close()
        return Outcome(schema=schema, error=error, seconds=time.monotonic() - started)


def _record_states(schemas: list[str]) -> None:
    """Read each workspace schema's state from its django_migrations and record it."""
    for schema, state in schema_states(schemas).items():
        Workspace.objects.filter(schema_name=schema).update(schema_state=state or "")


class _Progress:
    """`[#####-----] 512/1000, 2 failed` on a terminal, redrawn in place; elsewhere a line per 10 %."""

    def __init__(self, total: int, stream):
        self.total = total
        self.stream = stream
        self.count = 0
        self.failed = 0
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.next_line = 0

    def step(self, *, failed: bool) -> None:
        self.count += 1
        self.failed += failed
        if self.tty:
            filled = int(30 * self.count / self.total)
            self.stream.write(f"\r[{'#' * filled}{'-' * (30 - filled)}] {self.count}/{self.total}"
                              f"{f', {self.failed} failed' if self.failed else ''}", ending="")
            self.stream.flush()
        elif self.count * 10 >= self.next_line * self.total:
            self.stream.write(f"migrated {self.count}/{self.total}{f', {self.failed} failed' if self.failed else ''}")
            self.next_line = self.count * 10 // self.total + 1

    def done(self) -> None:
        if self.tty:
            self.stream.write("")
        self.stream.flush()
