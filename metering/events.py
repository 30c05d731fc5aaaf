"""The usage event as it travels through the workspace's Redis stream.

One field, "e", whose value is the request id, key id, meters ("requests=1;tokens=4"), time
(epoch ms) and endpoint, tab-separated, the endpoint last (a path may hold a tab; the others
never do: request ids are validated, key ids and meter names are letters, digits and
underscores). One field instead of six halves XADD's share of check.lua (bench/README.md).
Entries in the earlier six-field form (rid, key, ep, m, st, ts) are read as before.
"""

FIELD = "e"


def pack(request_id: bytes, key_id: bytes, meters: bytes, ts_ms: bytes, endpoint: bytes) -> bytes:
    return b"%b\t%b\t%b\t%b\t%b" % (request_id, key_id, meters, ts_ms, endpoint)


def parse(fields: dict) -> dict[str, str]:
    """A stream entry's fields as {rid, key, m, ts, ep, st}, from either form."""
    f = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
         for k, v in fields.items()}
    if FIELD in f:
        rid, key, meters, ts, endpoint = f[FIELD].split("\t", 4)
        return {"rid": rid, "key": key, "m": meters, "ts": ts, "ep": endpoint, "st": "admitted"}
    return f
