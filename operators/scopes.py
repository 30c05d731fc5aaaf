"""What an operator token may be given. Nothing implies anything else: a token that deletes
workspaces is made for that on purpose (destructive scopes are opt-in)."""

SCOPES = {
    "workspaces:read": "list and read workspaces, their members and keys (prefixes only)",
    "workspaces:write": "create, suspend and reactivate workspaces, change their plan",
    "workspaces:delete": "delete a workspace and its schema for good",
    "usage:reset": "reset a workspace's or a key's usage counters for a window",
    "monitoring:read": "the platform overview and per-workspace monitoring",
}
