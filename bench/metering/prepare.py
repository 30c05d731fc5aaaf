"""Set up the metering benchmark's data (idempotent) and print it as JSON.

    DJANGO_SETTINGS_MODULE=bench.metering.settings python -m bench.metering.prepare

A workspace `bench-metering` on Pro with overrides so large that no request is ever
refused, though every window is still checked and counted (with BENCH_SPEND_CAP_CENTS set,
also a spend cap of that many cents: one more window, requests-month, never reached at
$1,000,000); a Tollgate key for (b); a
djangorestframework-api-key key for (c). Keys are kept in var/bench/metering_keys.json
(mode 600) and reused while valid. Stale counters and usage events of the workspace
are deleted from the bench Redis DB, so each run starts from the same state.
"""

import json
import os
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.metering.settings")
django.setup()

from django.conf import settings  # noqa: E402
from rest_framework_api_key.models import APIKey  # noqa: E402

from apikeys import keys  # noqa: E402
from apikeys.models import ApiKey  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from billing.services import (  # noqa: E402
    catalogue_ensure,
    spend_cap_set,
    subscription_set_overrides,
    subscription_set_plan,
)
from core.redis import get_redis  # noqa: E402
from metering.redis_keys import tag  # noqa: E402
from tenants.selectors import workspace_get  # noqa: E402
from tenants.services import workspace_create  # noqa: E402

SLUG = "bench-metering"
KEY_NAME = "bench-metering"
KEY_FILE = Path(settings.BASE_DIR) / "var" / "bench" / "metering_keys.json"
HUGE = 10**12
OVERRIDES = {
    "burst": {"limit": 10_000_000, "window": 1},
    "meters": {
        "requests": {"hour": {"limit": HUGE, "hard": True}, "day": {"limit": HUGE, "hard": True}},
        "tokens": {"day": {"limit": HUGE, "hard": True}},
    },
}


def _saved() -> dict:
    try:
        return json.loads(KEY_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _tollgate_key(workspace, saved: dict) -> str:
    text = saved.get("tollgate", "")
    parsed = keys.parse(text)
    if parsed:
        row = ApiKey.objects.filter(key_id=parsed.key_id, workspace=workspace).first()
        if row and row.status == "active" and keys.matches(parsed.secret, row.digest):
            return text
    _row, text = apikey_create(workspace=workspace, name=KEY_NAME, scopes=["read", "write"])
    return text


def _drf_key(saved: dict) -> str:
    text = saved.get("drf", "")
    if text and APIKey.objects.is_valid(text):
        return text
    _row, text = APIKey.objects.create_key(name=KEY_NAME)
    return text


def main() -> None:
    catalogue_ensure()
    workspace = workspace_get(slug=SLUG) or workspace_create(name="Bench metering", slug=SLUG)
    subscription_set_plan(workspace=workspace, plan_slug="pro")
    subscription_set_overrides(workspace=workspace, overrides=OVERRIDES)
    cap = os.environ.get("BENCH_SPEND_CAP_CENTS")
    spend_cap_set(workspace=workspace, cap_cents=int(cap) if cap else None)
    saved = _saved()
    out = {"workspace_id": workspace.pk, "tollgate": _tollgate_key(workspace, saved), "drf": _drf_key(saved)}
    KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    KEY_FILE.write_text(json.dumps({"tollgate": out["tollgate"], "drf": out["drf"]}) + "\n")
    KEY_FILE.chmod(0o600)
    client = get_redis()
    stale = list(client.scan_iter(match=tag(workspace.pk) + ":*", count=1000))
    if stale:
        client.delete(*stale)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
