"""Per-request context (request id, workspace, key prefix) for logs and audit rows.

A ContextVar, not a thread local, so it is right under threads and asyncio alike.
"""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
workspace_slug: ContextVar[str | None] = ContextVar("workspace_slug", default=None)
key_prefix: ContextVar[str | None] = ContextVar("key_prefix", default=None)



client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
user_agent: ContextVar[str | None] = ContextVar("user_agent", default=None)


def clear() -> None:
    for var in (request_id, workspace_slug, key_prefix, client_ip, user_agent):
        var.set(None)
