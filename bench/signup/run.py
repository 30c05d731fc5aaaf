#!/usr/bin/env python
"""Signup to a usable workspace: user + workspace (schema cloned from the template) + owner.

    .venv/bin/python scripts/devservices.py -- .venv/bin/python bench/signup/run.py [N]

Runs N signups through accounts.services.signup (the path the signup page takes), checks
each workspace answers a query in its schema, prints median and p95 wall time, then
drops what it created. Uses DATABASE_URL / REDIS_URL (embedded servers under devservices).
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import signup  # noqa: E402


def main(n: int) -> None:
    call_command("migrate_schemas", interactive=False, verbosity=0)
    times, created = [], []
    try:
        for _ in range(n):
            tag = uuid.uuid4().hex[:10]
            start = time.perf_counter()
            user, workspace = signup(email=f"bench-{tag}@example.com", password="correct horse battery",
                                     full_name="Bench", workspace_name=f"Bench {tag}", slug=f"bench-{tag}")
            with schema_context(workspace.schema_name), connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM metering_usageevent")  # the workspace is usable
            times.append(time.perf_counter() - start)
            created.append((user, workspace))
    finally:
        for user, workspace in created:
            workspace.delete(force_drop=True)
            User.objects.filter(pk=user.pk).delete()
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"signups: {n}  median: {statistics.median(times) * 1000:.0f} ms  p95: {p95 * 1000:.0f} ms  "
          f"max: {times[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
