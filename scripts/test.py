#!/usr/bin/env python
"""`make test`: migration check, mypy, then the pytest suite (services from scripts/devservices.py)."""

import os
import subprocess
import sys

PY = sys.executable
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")

rc = subprocess.call([PY, "-W", "ignore::RuntimeWarning", "manage.py", "makemigrations", "--check", "--dry-run"], env=env)
if rc != 0:
    print("[test] models and migrations differ: run makemigrations", file=sys.stderr)
    sys.exit(rc)
# Types of every app (pyproject.toml [tool.mypy]; django-stubs reads the test settings).
rc = subprocess.call([PY, "-m", "mypy", "core", "tenants", "auditing", "accounts", "apikeys", "metering", "billing",
                      "branding", "dashboard", "operators", "config"], env=env)
if rc != 0:
    print("[test] mypy found type errors", file=sys.stderr)
    sys.exit(rc)
sys.exit(subprocess.call([PY, "-m", "pytest", *sys.argv[1:]], env=env))
