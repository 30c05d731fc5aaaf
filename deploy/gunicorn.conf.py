"""gunicorn settings. Every value can be overridden by the environment (GUNICORN_*).

Metrics: each worker is a process with its own counters, so prometheus-client runs in
multiprocess mode. Values go to files under PROMETHEUS_MULTIPROC_DIR, which /metrics
adds up (config/metrics.py). The directory belongs to this one gunicorn: it is emptied
when gunicorn starts (stale files from a previous run would be added in), and a
worker's live gauges are dropped when it exits. When the variable is unset a private
temporary directory is made and removed at exit, so /metrics is never the view of a
single worker by accident.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # off by default: the app logs JSON lines itself
# No query string in access lines: it can carry a token. The request id ties a line to the app's lines.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
# gunicorn's own lines in the app's JSON format (config/logging.py), secrets masked the same way.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        # Access lines only when GUNICORN_ACCESSLOG is set (a load balancer usually logs them):
        # one formatted line per request is ~5% of a worker's time on the metered path.
        "gunicorn.access": {"handlers": ["console"] if accesslog else [], "level": "INFO", "propagate": False},
    },
}

# Access lines cost nothing unless GUNICORN_ACCESSLOG is set (config/gunicorn_logger.py).
logger_class = "config.gunicorn_logger.Logger"

# PROMETHEUS MULTIPROCESS MODE. Set before any worker imports prometheus_client.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tollgate-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server):
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def worker_exit(server, worker):
    # Request analytics recorded since the last flush (metering/analytics/recorder.py): a worker
    # leaving (max_requests, a reload, a graceful stop) hands them to Redis first. atexit does the
    # same for any other process; a worker killed hard loses at most FLUSH_SECONDS of them.
    from metering.analytics import recorder

    try:
        recorder.flush()
    except Exception:  # noqa: BLE001 - a worker's exit must not fail on analytics
        server.log.exception("could not flush request analytics on worker exit")
