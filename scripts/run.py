#!/usr/bin/env python
"""`make run`: migrate, load the demo, then serve web + Celery worker (with beat) until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

PY = sys.executable
PORT = os.environ.get("PORT", "8000")
HOST = os.environ.get("HOST", "127.0.0.1")
# What a person trying Tollgate sees: the styled 404 and 500 pages, not Django's debug page,
# which also lists settings and URL patterns to anyone who mistypes an address (issue 23).
# `DJANGO_DEBUG=true make run` brings the debug pages back for development.
RUN_ENV = {"DJANGO_DEBUG": "false"}


def main() -> int:
    for name, value in RUN_ENV.items():
        os.environ.setdefault(name, value)
    for step in (["manage.py", "migrate_schemas", "--noinput", "-v", "0"], ["manage.py", "demo"]):
        if subprocess.call([PY, *step]) != 0:
            print(f"[run] {' '.join(step)} failed", file=sys.stderr)
            return 1
    # Each server in its own process group, so stopping it reaches its workers too
    # (gunicorn's workers, Celery's prefork pool): nothing is left behind.
    procs = [
        subprocess.Popen([PY, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py", "--bind", f"{HOST}:{PORT}"],
                         start_new_session=True),
        subprocess.Popen([PY, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "2", "-l", "warning",
                          "--schedule", "var/celerybeat-schedule"], start_new_session=True),
    ]
    stopping = {"now": False}

    def stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"[run] Tollgate on http://localhost:{PORT}/ (demo workspace: http://demo.localhost:{PORT}/); Ctrl-C stops it",
          file=sys.stderr, flush=True)
    print(f"[run] Try it without a key (demo mode): curl -X POST http://127.0.0.1:{PORT}/api/v1/analyze "
          "-H 'Content-Type: application/json' -d '{\"text\": \"I love this\"}'", file=sys.stderr, flush=True)
    while not stopping["now"] and all(p.poll() is None for p in procs):
        time.sleep(0.3)
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:  # whatever is still there (a pool child, a slow warm shutdown)
        _signal_group(p, signal.SIGKILL)
        p.wait()
    return 0 if stopping["now"] else 1


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main())
