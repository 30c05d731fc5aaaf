from tenants.management.commands.delete_workspace import Command  # noqa: F401
