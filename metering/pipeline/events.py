"""The usage event as it travels through the workspace's Redis stream: written by the
metering check (metering/engine.py) and the fail-open replay, read by the drain
(metering/pipeline/).

One field, "e", whose value is the request id, key id, meters ("requests=1;tokens=4"), time
(epoch ms) and endpoint, tab-separated, the endpoint last (a path may hold a tab; the others
never do: request ids are validated, key ids and meter names are letters, digits and
underscores). One field instead of six halves XADD's share of check.lua (bench/README.md).
Entries in the earlier six-field form (rid, key, ep, m, st, ts) are read as before.

An event's identity is made by the server, never taken from the caller (the request id is
the caller's to choose: issue 18, finding 1). An event the metering check appended is
identified by its stream entry id (XADD's "*"), so the hot path adds nothing to the entry.
An event admitted while Redis was down got an id when it was spooled; its replay carries it
in a second field, "i", so that a replay repeated after an interruption (XADD done, the
spool's commit lost) makes a new stream entry with the same identity, stored once.
"""

FIELD = "e"
ID_FIELD = "i"
# The key id of keyless demo calls' events (metering/demo.py): no key id is this short, so
# analytics show them apart, and the reconciliation leaves them out (they count in the demo
# caller's own windows, not in the workspace's requests counter).
DEMO_KEY_ID = "demo"


def identity(entry_id: bytes | str, fields: dict) -> str:
    """The event's identity: the id it carries (a replayed spool event), else its stream entry id."""
    carried = fields.get(ID_FIELD.encode(), fields.get(ID_FIELD))
    value = carried if carried else entry_id
    return value.decode() if isinstance(value, bytes) else value


def replayed(request_id: str, key_id: str, costs: dict[str, int], ts_ms: int, endpoint: str, *,
             event_id: str) -> dict:
    """The stream fields of a spooled event put back into the stream, with its spool-made id."""
    return {FIELD: pack(request_id, key_id, costs, ts_ms, endpoint), ID_FIELD: event_id.encode()}


def pack(request_id: str, key_id: str, costs: dict[str, int], ts_ms: int, endpoint: str) -> bytes:
    meters = ";".join([f"{m}={u}" for m, u in costs.items()]) or "-"
    return f"{request_id or '-'}\t{key_id or '-'}\t{meters}\t{ts_ms}\t{endpoint or '-'}".encode()


def parse(fields: dict) -> dict:
    """A stream entry, either form, as {rid, key, ep, ts (epoch ms), st, meters: [(meter, units)]};
    key and ep are "" when the event had none."""
    f = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
         for k, v in fields.items()}
    if FIELD in f:
        rid, key, m, ts, ep = f[FIELD].split("\t", 4)
        st = "admitted"
    else:
        rid, key, m, ts, ep, st = f["rid"], f.get("key", ""), f.get("m", ""), f["ts"], f.get("ep", ""), f.get("st", "admitted")
    meters = [(meter, int(units)) for meter, _, units in (p.partition("=") for p in m.split(";")) if units]
    return {"rid": rid, "key": "" if key == "-" else key, "ep": "" if ep == "-" else ep, "ts": int(ts), "st": st,
            "meters": meters}
