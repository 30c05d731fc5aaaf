"""config.wsgi's application, plus an `X-Worker-Pid` header naming the gunicorn worker that answered.

Only the live tests serve this module, so production never exposes process ids; tests use
the header to prove that several worker processes each saw a change.
"""

import os

from config.wsgi import application as django_application


def application(environ, start_response):
    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    return django_application(environ, start)
