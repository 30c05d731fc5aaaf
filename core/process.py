"""This process's id, read without a system call.

os.getpid() is a system call on every use (glibc stopped caching it), and the request path
asked six times per metered request whether it still runs in the process that started its
background threads and Redis client (after gunicorn forks a worker, it does not). The id is
read once here and again in every child after os.fork (os.register_at_fork).
"""

import os

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def pid() -> int:
    return _pid
