"""The Celery worker's metrics, connected in every worker (core/tasks.py imports this module, and
Celery imports core/tasks.py in every worker before it starts):
- every task failure counts in tollgate_celery_task_failures_total{task};
- with METRICS_WORKER_PORT set, the worker serves /metrics on that port, adding up its
  pool processes' values when PROMETHEUS_MULTIPROC_DIR is set (one directory per
  worker, made before it starts, emptied here of older runs' files). The drain lag,
  invoices and backups are counted here, not in the web processes, so Prometheus
  scrapes both.
"""

import logging
import os
from pathlib import Path

from celery.signals import task_failure, worker_init, worker_process_shutdown
from django.conf import settings

from core.metrics import CELERY_TASK_FAILURES

logger = logging.getLogger(__name__)


@task_failure.connect
def _count_task_failure(sender=None, **kwargs) -> None:
    CELERY_TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


@worker_init.connect
def _serve_worker_metrics(**kwargs) -> None:
    # The directory must exist before the first metric is made (at import): deploy/Procfile makes it.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for stale in Path(directory).glob("*.db"):
            if not stale.stem.endswith(f"_{os.getpid()}"):  # a previous run's pool processes
                stale.unlink()
    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    import prometheus_client
    from prometheus_client import multiprocess

    registry = prometheus_client.REGISTRY
    if directory:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    # Every interface: in a container Prometheus scrapes from another host. Don't publish the port.
    prometheus_client.start_http_server(port, addr="0.0.0.0", registry=registry)  # noqa: S104
    logger.info("worker metrics on port %s", port)


@worker_process_shutdown.connect
def _forget_pool_process(pid=None, **kwargs) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
