"""A dump of the whole database (public and every workspace schema) holds no key secret."""

import subprocess

from django.db import connection

from apikeys.services import apikey_rotate


def _pg_dump() -> str:
    from core.ops.backups import pick_tool

    db = connection.settings_dict
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    connection.ensure_connection()
    # A pg_dump at least as new as the server: the machine's 15, or the embedded wheel's 18.
    tool = pick_tool("pg_dump", at_least=connection.connection.info.server_version // 10000)
    result = subprocess.run(
        [str(tool), "--no-owner", "--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432),
         "--username", db.get("USER") or "postgres", db["NAME"]],
        check=True, capture_output=True, env=env, timeout=120,
    )
    return result.stdout.decode()


def test_database_dump_holds_digests_but_no_secret(live_workspace_factory):
    # given committed keys: created, an extra one restricted, and one rotated (audit rows too)
    live = live_workspace_factory("live-dump")
    extra, extra_text = live.new_key(scopes=["read"], allowed_ips=["203.0.113.0/24"])
    rotated, rotated_text = apikey_rotate(key=extra, actor=live.owner)
    texts = [live.key_text, extra_text, rotated_text]
    # when the database is dumped
    dump = _pg_dump()
    # then each key's digest and prefix are there, its secret is not, in any form
    assert "CREATE SCHEMA ws_live_dump" in dump
    for row, text in zip([live.key, extra, rotated], texts, strict=True):
        secret = text.rsplit("_", 1)[1]
        assert row.digest in dump
        assert row.key_id in dump
        assert text not in dump
        assert secret not in dump
        assert secret[:20] not in dump
