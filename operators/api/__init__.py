"""The platform API (/api/platform/v1/), for operators' automation, with operator tokens.

- base.py: the view base (authentication, scopes, the audit of every call, pages);
- workspaces.py: workspaces (create with plan and owner, list, read, suspend, reactivate,
  delete, change plan), their members and keys;
- usage.py: resetting a workspace's or a key's usage for a window;
- monitoring.py: the platform overview and per-workspace monitoring.
"""
