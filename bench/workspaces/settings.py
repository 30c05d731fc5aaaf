"""Settings of the workspaces benchmark: production settings plus a bench-only tenant app.

`benchapp` (bench/workspaces/benchapp) is a tenant app with one table, so the benchmark can
time a real one-column migration over every workspace: BENCH_MIGRATIONS=v1 (default) is its
first migration only, v2 adds the second (AddField). Plain HTTP on loopback.
"""

import os

from config.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
TENANT_APPS = [*TENANT_APPS, "bench.workspaces.benchapp"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.workspaces.benchapp"]  # noqa: F405
MIGRATION_MODULES = {"benchapp": f"bench.workspaces.benchapp.migrations_{os.environ.get('BENCH_MIGRATIONS', 'v1')}"}
STATIC_ROOT = BASE_DIR / "var" / "bench" / "staticfiles"  # noqa: F405
