"""gunicorn's logger (deploy/gunicorn.conf.py, `logger_class`), minus the access line's cost
when access lines are off.

With a logconfig_dict (for JSON error lines) gunicorn counts access logging as on and builds
every request's log atoms, only for the handler-less gunicorn.access logger to drop them:
~4 % of a worker's time on the metered path (bench/README.md).
"""

from gunicorn import glogging


class Logger(glogging.Logger):
    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)
