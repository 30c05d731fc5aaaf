"""What every benchmark here shares: paths, logging, ports, the bench database, a Python
subprocess runner, one gunicorn (deploy/gunicorn.conf.py) in its own process group, the
machine's description and load, and reading wrk's output.

The wrk script that counts response statuses is bench/status.lua.
"""

import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from scripts.devservices import free_port as _free_port
from scripts.devservices import wait_port

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PY = sys.executable
STATUS_LUA = Path(__file__).resolve().parent / "status.lua"
_TICK = os.sysconf("SC_CLK_TCK")

__all__ = ["ROOT", "VAR", "PY", "STATUS_LUA", "Gunicorn", "ensure_database", "free_port", "get", "log",
           "machine_busy", "machine_info", "parse_wrk", "prioritise", "run_python", "wait_for_quiet", "wait_port"]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    return _free_port(0)


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def run_python(env: dict, *args: str) -> str:
    """`python <args>` in the project root; its stdout, or exit with its output on failure."""
    done = subprocess.run([PY, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {' '.join(args)}")
    return done.stdout


def get(url: str, auth: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def prioritise(pid: int, nice: int) -> None:
    """Give the process's scheduling group nice -N. The kernel schedules by autogroup (one per session)
    first, so a process's own niceness alone would not take the CPU from other sessions."""
    if not nice:
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(-nice))
    except OSError:
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, pid, -nice)
    except OSError:
        pass


class Gunicorn:
    """config.wsgi under deploy/gunicorn.conf.py on 127.0.0.1:<port>, in its own process group."""

    def __init__(self, env: dict, port: int, workers: int, log_path: Path, nice: int = 0, root: Path = ROOT) -> None:
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
        self.port, self.workers, self.log_path, self.nice, self.root = port, workers, log_path, nice, root
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("w") as log_file:
            self.proc = subprocess.Popen(
                [PY, "-m", "gunicorn", "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"],
                cwd=self.root, env=self.env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        prioritise(self.proc.pid, self.nice)  # workers are forked from the arbiter: same group
        wait_port(self.port, 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited while booting; see {self.log_path}")
            try:
                if get(f"http://127.0.0.1:{self.port}/health/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer /health/ in 60 s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []

    def worker_cpu_seconds(self) -> dict[int, float]:
        """user + system CPU seconds of each live worker (from /proc/<pid>/stat)."""
        out = {}
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
        return out

    def stop(self) -> None:
        if self.proc is None:
            return
        log(f"stopping gunicorn (pid {self.proc.pid})")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass
        self.proc.wait(5)


def machine_info() -> dict:
    """What a figure was measured on: date, CPU, cores, kernel, Python, wrk."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {"date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": model, "cores": os.cpu_count(),
            "kernel": platform.release(), "python": platform.python_version(),
            "wrk": (wrk.stdout or wrk.stderr).split("[", 1)[0].strip()}


def machine_busy() -> tuple[int, int, int]:
    """(busy, total, process) jiffies of the whole machine from /proc/stat; `process` is user + nice +
    system, the time processes account for (interrupts and softirqs, mostly our own loopback traffic, are not)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal  # guest time is inside user already
    return total - idle - iowait, total, user + nice + system


def wait_for_quiet(limit: float, timeout: float) -> float:
    """Wait until the machine is at most `limit` busy (3 s samples) or `timeout` passed; the last share."""
    deadline = time.monotonic() + timeout
    while True:
        b0, t0, _ = machine_busy()
        time.sleep(3)
        b1, t1, _ = machine_busy()
        share = (b1 - b0) / max(1, t1 - t0)
        if share <= limit or time.monotonic() > deadline:
            return share
        log(f"the machine is {share:.0%} busy with other work; waiting for it to settle")


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_LAT = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(out: str) -> dict:
    """A `wrk --latency -s bench/status.lua` run's figures; `valid` only when every response was a 200."""
    rps = _RPS.search(out)
    statuses = {}
    for line in out.splitlines():
        if line.startswith("STATUSES"):
            statuses = {int(k): int(v) for k, v in (p.split("=") for p in line.split()[1:])}
    sock = _SOCKET.search(out)
    non2xx = int(m.group(1)) if (m := _NON2XX.search(out)) else 0
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "latency_ms": {p: round(float(v) * _UNITS[u], 2) for p, v, u in _LAT.findall(out)},
        "statuses": statuses,
        "socket_errors": [int(x) for x in sock.groups()] if sock else [0, 0, 0, 0],
        "non_2xx": non2xx,
        "valid": bool(rps) and set(statuses) == {200} and non2xx == 0,
    }
