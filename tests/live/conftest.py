"""Live-server harness: a real gunicorn serving the app on the pytest-django test database.

Fixtures (tests that start gunicorn are `@pytest.mark.live`):
- `live_db`: committed (autocommit) database access; every fixture below includes it.
- `gunicorn_server`: a running 2-worker gunicorn (a `GunicornServer`: `.url`, `.request(...)`,
  `.get/.post`, `.workers`); each response names the worker that answered (`LiveResponse.pid`,
  from the `X-Worker-Pid` header that tests/live/wsgi.py adds; production never sends it).
  Every worker can also be addressed by name: `.each_worker()` lists their pids and
  `.request(..., worker=pid)` goes to that worker alone (its own port, tests/live/gunicorn_conf.py),
  so a test that must reach each worker doesn't depend on how the kernel spreads connections.
- `gunicorn_factory(workers=N, env={...})`: start more or differently sized servers.
- `live_workspace_factory(slug, **key_settings)`: a *committed* workspace with an owner and a
  key (a `LiveWorkspace`), so gunicorn's own connections see it; its schema is dropped and
  its rows deleted at teardown.

Everything gunicorn reads must be committed, so live tests run without the per-test
transaction (see `_db_for_all` below) and with `live_db`: a test's own writes (a revoke, a
plan change) commit at once and their `on_commit` invalidations are published. Servers are
stopped (master and every worker) at teardown; workspaces are dropped.

Tests in tests/live get no database unless they take one of these fixtures. Plain functions
(`start_gunicorn`, `stop_gunicorn`, `make_committed_workspace`, `drop_workspaces`) are
importable for harnesses elsewhere.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_APP = "tests.live.wsgi:application"  # config.wsgi plus an X-Worker-Pid header
# deploy/gunicorn.conf.py plus a port of each worker's own (written to TOLLGATE_TEST_WORKER_PORTS)
CONFIG = ROOT / "tests" / "live" / "gunicorn_conf.py"


# Talking to the server ----------------------------------------------------------------------

@dataclass
class LiveResponse:
    status: int
    headers: dict  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def pid(self) -> int | None:
        value = self.headers.get("x-worker-pid")
        return int(value) if value else None

    @property
    def code(self) -> str | None:
        """The problem `code` of an error response."""
        if self.headers.get("content-type") == "application/problem+json":
            return self.json().get("code")
        return None


@dataclass
class GunicornServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    workers: int
    ports_dir: Path | None = None  # one file per worker: its pid, holding its own port

    @property
    def port(self) -> int:
        return urlsplit(self.url).port

    def worker_ports(self) -> dict[int, int]:
        """{pid: port} of the running workers that listen on a port of their own."""
        out = {}
        for path in self.ports_dir.iterdir() if self.ports_dir is not None else ():
            if path.name.isdigit() and _alive(int(path.name)):
                out[int(path.name)] = int(path.read_text())
        return out

    def each_worker(self) -> list[int]:
        """The running workers' pids, each reachable with `request(..., worker=pid)`."""
        return sorted(self.worker_ports())

    def request(self, method: str, path: str, *, host: str = "localhost", key: str | None = None,
                headers: dict | None = None, body=None, timeout: float = 10.0,
                worker: int | None = None) -> LiveResponse:
        """One request on a fresh connection (`Connection: close`): to the worker `worker` (a pid
        from `each_worker()`), or else to the shared port, where the kernel may hand it to any
        worker. `host` is the Host header; `key` goes in `Authorization: Bearer`."""
        sent = {"Host": host, "Connection": "close", **(headers or {})}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        port = self.port if worker is None else self.worker_ports()[worker]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return LiveResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def get(self, path: str, **kw) -> LiveResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> LiveResponse:
        return self.request("POST", path, **kw)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def database_url() -> str:
    """The URL of the database this process uses (the test database inside pytest)."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{quote(db['NAME'], safe='')}"


def server_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        # Same secret and pepper as this process, or keys made here would not verify there.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "TOLLGATE_API_KEY_PEPPER": settings.API_KEY_PEPPER,
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("GUNICORN_BIND", None)
    env.update(extra or {})
    return env


def start_gunicorn(*, workers: int = 2, app: str = DEFAULT_APP, env: dict | None = None, log_dir: Path,
                   boot_timeout: float = 30.0, args: tuple = ()) -> GunicornServer:
    """Start gunicorn with deploy/gunicorn.conf.py (through tests/live/gunicorn_conf.py) on a free
    loopback port; return once /health/ answers there and on every worker's own port."""
    port = free_port()
    log_path = Path(log_dir) / f"gunicorn-{port}.log"
    ports_dir = Path(log_dir) / f"gunicorn-{port}-workers"
    ports_dir.mkdir()
    log = open(log_path, "wb")  # noqa: SIM115 -- closed with the process in stop_gunicorn
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "-c", str(CONFIG),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), *args],
        cwd=ROOT, env=server_env({"TOLLGATE_TEST_WORKER_PORTS": str(ports_dir), **(env or {})}), stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: teardown stops master and workers together
    )
    log.close()
    server = GunicornServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, workers=workers,
                            ports_dir=ports_dir)
    deadline = time.monotonic() + boot_timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} while booting:\n{server.log()}")
        try:
            pids = server.each_worker()
            if (server.get("/health/", timeout=2).status == 200 and len(pids) == workers
                    and all(server.get("/health/", timeout=2, worker=pid).pid == pid for pid in pids)):
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_gunicorn(server)
            raise RuntimeError(f"gunicorn did not answer /health/ within {boot_timeout}s:\n{server.log()}")
        time.sleep(0.1)


def worker_pids(server: GunicornServer) -> set[int]:
    """The master's live children (its workers), read from /proc."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    try:
        return {int(p) for p in children.read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_gunicorn(server: GunicornServer, timeout: float = 15.0) -> None:
    """Stop the master gracefully (it stops its workers), then make sure the whole group is gone."""
    pgid = server.process.pid  # start_new_session: the master leads its own group
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    server.process.wait(timeout=timeout)


# Committed workspaces -------------------------------------------------------------------------

@dataclass
class LiveWorkspace:
    workspace: object
    owner: object
    key: object  # the ApiKey row
    key_text: str
    extra_keys: list = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.workspace.slug

    @property
    def host(self) -> str:
        return f"{self.workspace.slug}.{settings.BASE_DOMAIN}"

    def new_key(self, **settings_):
        """Another committed key in this workspace: (row, text)."""
        from apikeys.services import apikey_create

        settings_.setdefault("name", f"extra key {len(self.extra_keys) + 1}")
        row, text = apikey_create(workspace=self.workspace, actor=self.owner, **settings_)
        self.extra_keys.append(row)
        return row, text


def make_committed_workspace(slug: str, *, scopes=("read", "write", "admin"), **key_settings) -> LiveWorkspace:
    """A workspace (cloned schema), its owner and one key, committed (call with the database unblocked
    and outside any test transaction, e.g. under `transactional_db`)."""
    from accounts.models import Membership
    from accounts.permissions import Role
    from apikeys.services import apikey_create
    from tenants.services import workspace_create
    from tests.factories import UserFactory

    workspace = workspace_create(name=slug.replace("-", " ").title(), slug=slug)
    owner = UserFactory(email=f"owner@{slug}.test")
    Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    key_settings.setdefault("name", "live key")
    row, text = apikey_create(workspace=workspace, scopes=list(scopes), actor=owner, **key_settings)
    return LiveWorkspace(workspace=workspace, owner=owner, key=row, key_text=text)


def drop_workspaces(workspaces) -> None:
    """Drop each workspace's schema and delete its rows (and its owner)."""
    from accounts.models import User
    from tenants.models import Workspace

    connection.set_schema_to_public()
    for live in workspaces:
        ws = live.workspace
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{ws.schema_name}" CASCADE')
        Workspace.objects.filter(pk=ws.pk).delete()
        User.objects.filter(pk=live.owner.pk).delete()


def _drop_partial(slug: str) -> None:
    from accounts.models import User
    from tenants.models import Workspace

    connection.set_schema_to_public()
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is not None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{workspace.schema_name}" CASCADE')
        Workspace.objects.filter(pk=workspace.pk).delete()
    User.objects.filter(email=f"owner@{slug}.test").delete()


# Fixtures -----------------------------------------------------------------------------------

LIVE_FIXTURES = {"live_db", "gunicorn_factory", "gunicorn_server", "live_workspace_factory"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Live tests get `django_db(transaction=True)`: pytest-django then creates the test database
    for them and runs them after every rolled-back test (their committed leftovers, e.g. public
    audit rows, can't disturb those). The per-test wrapping the marker would bring is switched
    off below (`_django_db_marker`)."""
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _django_db_marker():
    """Overrides pytest-django's fixture that turns a django_db marker into a test case: its
    TransactionTestCase teardown runs a plain TRUNCATE of the public tables, which PostgreSQL
    refuses here (see `_db_for_all`), and its TestCase would hide every write from gunicorn."""


@pytest.fixture(autouse=True)
def _db_for_all():
    """Overrides tests/conftest.py's per-test transaction for live tests.

    gunicorn reads through its own connections, so it sees only committed data, and a change's
    invalidation is published only on commit. Inside a test-wide transaction neither happens
    (and a worker writing an audit row would wait on the test's advisory lock). Live tests take
    `live_db` instead: autocommit access, with what they create removed at teardown.
    Django's TransactionTestCase flush is no way out: a plain TRUNCATE of the public tables is
    refused because tenant-schema tables (tollgate_template.auditlog_logentry) reference them,
    and emptying them would also lose the plan catalogue billing's migration seeds.
    """


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Committed (autocommit) database access for the test and its fixtures."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()
        connection.close()


@pytest.fixture
def gunicorn_factory(live_db, tmp_path):
    """gunicorn_factory(workers=2, env=None, app=DEFAULT_APP) -> GunicornServer, stopped at teardown."""
    started: list[GunicornServer] = []

    def start(*, workers: int = 2, env: dict | None = None, app: str = DEFAULT_APP, args: tuple = ()):
        server = start_gunicorn(workers=workers, env=env, app=app, log_dir=tmp_path, args=args)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_gunicorn(server)


@pytest.fixture
def gunicorn_server(gunicorn_factory) -> GunicornServer:
    return gunicorn_factory(workers=2)


@pytest.fixture
def live_workspace_factory(live_db):
    """live_workspace_factory(slug, scopes=(...), **key settings) -> LiveWorkspace (committed),
    dropped with its schema at teardown."""
    made: list[LiveWorkspace] = []

    def make(slug: str = "live-acme", **kw) -> LiveWorkspace:
        try:
            live = make_committed_workspace(slug, **kw)
        except Exception:
            _drop_partial(slug)  # e.g. the workspace was made, its key refused: leave nothing behind
            raise
        made.append(live)
        return live

    yield make
    drop_workspaces(made)
