"""JSON log lines carrying the request id, workspace and key prefix of the request."""

import json
import logging
from datetime import UTC, datetime

from tenants import context as request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.request_id.get()
        record.workspace = request_context.workspace_slug.get()
        record.key_prefix = request_context.key_prefix.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "workspace": getattr(record, "workspace", None),
            "key_prefix": getattr(record, "key_prefix", None),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
