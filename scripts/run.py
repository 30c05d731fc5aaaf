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


def main() -> int:
    for step in (["manage.py", "migrate_schemas", "--noinput", "-v", "0"], ["manage.py", "demo"]):
        if subprocess.call([PY, *step]) != 0:
            print(f"[run] {' '.join(step)} failed", file=sys.stderr)
            return 1
    procs = [
        subprocess.Popen([PY, "-m", "gunicorn", "config.wsgi", "-c", "deploy/gunicorn.conf.py", "--bind", f"{HOST}:{PORT}"]),
        subprocess.Popen([PY, "-m", "celery", "-A", "config", "worker", "-B", "--concurrency", "2", "-l", "warning",
                          "--schedule", "var/celerybeat-schedule"]),
    ]
    stopping = {"now": False}

    def stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"[run] Tollgate on http://localhost:{PORT}/ (demo workspace: http://demo.localhost:{PORT}/); Ctrl-C stops it",
          file=sys.stderr, flush=True)
    while not stopping["now"] and all(p.poll() is None for p in procs):
        time.sleep(0.3)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
    return 0 if stopping["now"] else 1


if __name__ == "__main__":
    sys.exit(main())
