"""gunicorn settings for the live tests: deploy/gunicorn.conf.py as production runs it, plus one
listening socket of each worker's own, so a test can address every worker by name.

A test that must reach every worker (a revocation applied by each process) used to send
requests to the shared port until each worker had answered, hoping the kernel would spread
them; on a busy machine one worker took all 400 (issue 18). Here each worker also listens on
a loopback port of its own and writes it to `$TOLLGATE_TEST_WORKER_PORTS/<pid>`; the shared
port still serves everything else.
"""

import os
import socket
from pathlib import Path

_DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
exec(compile(_DEPLOY.read_text(), str(_DEPLOY), "exec"))  # noqa: S102 - our own deploy settings, as gunicorn reads them

_deploy_post_worker_init = globals().get("post_worker_init")
_deploy_worker_exit = globals().get("worker_exit")


def _ports_dir() -> Path | None:
    value = os.environ.get("TOLLGATE_TEST_WORKER_PORTS")
    return Path(value) if value else None


def post_worker_init(worker):
    if _deploy_post_worker_init is not None:
        _deploy_post_worker_init(worker)
    directory = _ports_dir()
    if directory is None:
        return
    own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    own.bind(("127.0.0.1", 0))
    own.listen(64)
    own.setblocking(False)
    # The worker accepts on `sockets` (gthread registers them when it starts running); the sync
    # worker selects on `wait_fds`, which init_process built from `sockets` before this hook.
    worker.sockets.append(own)
    if own not in worker.wait_fds:
        worker.wait_fds.insert(0, own)
    written = directory / f".{os.getpid()}"
    written.write_text(str(own.getsockname()[1]))
    written.replace(directory / str(os.getpid()))  # whole, or not there at all


def worker_exit(server, worker):
    if _deploy_worker_exit is not None:
        _deploy_worker_exit(server, worker)
    directory = _ports_dir()
    if directory is not None:
        (directory / str(os.getpid())).unlink(missing_ok=True)
