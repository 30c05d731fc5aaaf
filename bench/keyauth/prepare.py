"""Set up the key-authentication benchmark's data (idempotent) and print it as JSON.

    DJANGO_SETTINGS_MODULE=bench.keyauth.settings python -m bench.keyauth.prepare

A workspace `bench-keyauth` and a fresh read-scoped key; keys of earlier runs are revoked,
so their secrets (only ever printed to the benchmark's pipe) stop working.
"""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.keyauth.settings")
django.setup()

from apikeys.models import ApiKey  # noqa: E402
from apikeys.services import apikey_create, apikey_revoke  # noqa: E402
from tenants.selectors import workspace_get  # noqa: E402
from tenants.services import workspace_create  # noqa: E402

SLUG = "bench-keyauth"
KEY_NAME = "bench-keyauth"


def main() -> None:
    workspace = workspace_get(slug=SLUG) or workspace_create(name="Key auth bench", slug=SLUG)
    for old in ApiKey.objects.filter(workspace=workspace, name=KEY_NAME, revoked_at__isnull=True):
        apikey_revoke(key=old)
    _row, text = apikey_create(workspace=workspace, name=KEY_NAME, scopes=["read"], actor=("operator", "bench"))
    print(json.dumps({"workspace": SLUG, "key": text}))


if __name__ == "__main__":
    main()
