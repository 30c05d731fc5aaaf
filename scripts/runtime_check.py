#!/usr/bin/env python3
"""CI: what `pip install -r requirements.txt` alone gives (as deploy/Dockerfile builds it) serves
and works: gunicorn and a Celery worker under production settings.

    python3 scripts/runtime_check.py [--requirements FILE] [--keep]

It builds a fresh virtualenv from the requirements file only (no dev requirements: those brought
`packaging`, which kombu's Redis transport imports, and hid that requirements.txt lacked it),
makes, migrates and fills its own database (tollgate_runtime_check) on the DATABASE_URL server,
uses Redis database 15 of REDIS_URL, then starts gunicorn (deploy/gunicorn.conf.py) and a Celery
worker with DJANGO_SETTINGS_MODULE=config.settings.production and checks:
  1. /health/ready answers 200 (database, Redis, broker, migrations);
  2. a metered call (POST /api/v1/analyze with a key) is admitted, and the drain task then sent
     to the worker (metering.tasks.drain_usage.delay()) stores its usage;
  3. /api/docs/ and every static file it loads are served (collectstatic, whitenoise).
Everything it started is stopped, its database dropped, its Redis database emptied and its
virtualenv removed (--keep keeps the virtualenv and logs). Exit status 0 when all checks pass.
Only the standard library is used here: the script runs before any virtualenv exists.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from devservices import free_port  # scripts/devservices.py, beside this one (standard library only)

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "tollgate_runtime_check"
REDIS_DB = 15
SLUG = "runtime-check"
TIMEOUT = 60.0  # seconds for each wait: boot, readiness, the task's effect


class CheckFailed(Exception):
    pass


def log(msg: str) -> None:
    print(f"[runtime-check] {msg}", flush=True)


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


class Run:
    def __init__(self, requirements: Path, keep: bool) -> None:
        self.requirements = requirements
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="tollgate-runtime-check-"))
        self.venv = self.work / "venv"
        self.py = str(self.venv / "bin" / "python")
        self.servers: dict[str, subprocess.Popen] = {}
        self.port = free_port(0)
        self.env = self._env()
        self.database_made = False

    def _env(self) -> dict:
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not os.environ.get(name):
                raise CheckFailed(f"{name} is not set: the check runs against that server")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "TOLLGATE_", "CELERY_", "GUNICORN_", "PROMETHEUS_"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
            "DATABASE_URL": with_path(os.environ["DATABASE_URL"], f"/{DATABASE}"),
            "REDIS_URL": with_path(os.environ["REDIS_URL"], f"/{REDIS_DB}"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        return env

    # Steps ----------------------------------------------------------------------------------

    def run(self, *args: str, capture: bool = False, timeout: float = 600) -> str:
        result = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise CheckFailed(f"{' '.join(args[:4])}... exited {result.returncode}:\n{result.stdout[-3000:]}"
                              f"\n{result.stderr[-3000:]}")
        return result.stdout if capture else ""

    def manage(self, *args: str, capture: bool = False) -> str:
        return self.run(self.py, "manage.py", *args, capture=capture)

    def install(self) -> None:
        log(f"fresh virtualenv, {self.requirements.name} only")
        started = time.monotonic()
        self.run(sys.executable, "-m", "venv", str(self.venv))
        self.run(self.py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(self.requirements))
        log(f"installed in {time.monotonic() - started:.0f}s")

    def _sql(self, *statements: str) -> None:
        """Statements on the server's maintenance database, with the fresh virtualenv's psycopg."""
        code = ("import sys, psycopg\n"
                "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
                "    for s in sys.argv[2:]: c.execute(s)\n")
        self.run(self.py, "-c", code, with_path(os.environ["DATABASE_URL"], "/postgres"), *statements)

    def _redis_flush(self) -> None:
        self.run(self.py, "-c", "import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()", self.env["REDIS_URL"])

    def prepare(self) -> str:
        log(f"database {DATABASE}: made and migrated; Redis db {REDIS_DB} emptied")
        self._sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}")
        self.database_made = True
        self._redis_flush()
        self.manage("migrate_schemas", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.manage("create_workspace", "--slug", SLUG, "--name", "Runtime check", "--owner", f"owner@{SLUG}.test")
        key = self.manage("create_api_key", "--workspace", SLUG, "--scopes", "read,write", capture=True)
        match = re.search(r"tg_(?:live|test)_\S+", key)
        if not match:
            raise CheckFailed(f"create_api_key printed no key: {key!r}")
        return match.group(0)

    def start(self, name: str, *args: str) -> None:
        out = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 -- the child holds it; closed below
        self.servers[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                              start_new_session=True)  # own group: stopping reaches its children
        out.close()

    def start_servers(self) -> None:
        log(f"gunicorn on 127.0.0.1:{self.port} and a Celery worker, production settings")
        self.start("gunicorn", self.py, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", "2")
        self.start("worker", self.py, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "-l", "info",
                   "--without-mingle", "--without-gossip", "-n", f"runtime-check-{os.getpid()}@%h")

    def request(self, method: str, path: str, *, key: str | None = None, body: dict | None = None):
        # Production redirects plain HTTP to HTTPS: say what a TLS-terminating balancer says
        headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "Connection": "close"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _alive(self) -> None:
        for name, proc in self.servers.items():
            if proc.poll() is not None:
                raise CheckFailed(f"{name} exited with {proc.returncode}")

    def wait_ready(self) -> None:
        deadline, last = time.monotonic() + TIMEOUT, None
        while time.monotonic() < deadline:
            self._alive()
            try:
                status, _, body = self.request("GET", "/health/ready")
                last = (status, body[:500])
                if status == 200:
                    log(f"/health/ready 200: {json.loads(body)['checks']}")
                    return
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise CheckFailed(f"/health/ready did not answer 200 within {TIMEOUT:.0f}s: {last}")

    def _stored(self) -> int:
        code = ("from django_tenants.utils import schema_context\n"
                "from metering.models import UsageEvent\n"
                "from tenants.models import Workspace\n"
                f"with schema_context(Workspace.objects.get(slug={SLUG!r}).schema_name):\n"
                "    print(UsageEvent.objects.count())\n")
        return int(self.manage("shell", "-c", code, capture=True).split()[-1])

    def check_task(self, key: str) -> None:
        status, _, body = self.request("POST", "/api/v1/analyze", key=key, body={"text": "runtime check"})
        if status != 200:
            raise CheckFailed(f"POST /api/v1/analyze answered {status}: {body[:500]!r}")
        if self._stored() != 0:
            raise CheckFailed("a usage event was stored before the drain task ran")
        # Sent as the app sends its tasks: from Django (tenant-schemas-celery adds the schema header)
        self.manage("shell", "-c", "from metering.tasks import drain_usage; drain_usage.delay()")
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self._alive()
            stored = self._stored()
            if stored:  # one event per meter the call consumed
                log(f"the worker ran metering.tasks.drain_usage: the call's usage is stored ({stored} events)")
                return
            time.sleep(1)
        raise CheckFailed(f"the drain task sent to the worker stored nothing within {TIMEOUT:.0f}s")

    def check_docs(self) -> None:
        status, headers, body = self.request("GET", "/api/docs/")
        if status != 200:
            raise CheckFailed(f"/api/docs/ answered {status}")
        urls = re.findall(r'(?:src|href)="([^"]+)"', body.decode())
        if not urls or not all(url.startswith("/") for url in urls):
            raise CheckFailed(f"/api/docs/ loads files from elsewhere: {urls}")
        for url in urls:
            status, _, _ = self.request("GET", url.replace("&amp;", "&"))
            if status != 200:
                raise CheckFailed(f"{url} (loaded by /api/docs/) answered {status}")
        log(f"/api/docs/ and the {len(urls)} files it loads are served")

    # Teardown -------------------------------------------------------------------------------

    def stop(self) -> None:
        for proc in self.servers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.servers.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.servers.values():
            try:  # whatever is left of the group (a pool child, a gunicorn worker)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def clean(self, failed: bool) -> None:
        self.stop()
        if failed:
            for name in self.servers:
                text = (self.work / f"{name}.log").read_text(errors="replace")
                print(f"----- {name} log (last 4000 characters) -----\n{text[-4000:]}", flush=True)
        if self.database_made:
            try:
                self._sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
                self._redis_flush()
            except (CheckFailed, subprocess.TimeoutExpired) as exc:
                log(f"could not clean up: {exc}")
        if self.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    parser.add_argument("--keep", action="store_true", help="keep the virtualenv and the servers' logs")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        check = Run(args.requirements.resolve(), args.keep)
    except CheckFailed as exc:
        log(f"FAILED: {exc}")
        return 1
    failed = True
    try:
        check.install()
        key = check.prepare()
        check.start_servers()
        check.wait_ready()
        check.check_task(key)
        check.check_docs()
        failed = False
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        log(f"FAILED: {exc}")
    finally:
        check.clean(failed)
    if not failed:
        log(f"passed in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
