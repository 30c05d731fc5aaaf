"""The usage pipeline: what happens to an admitted request after the check.

    check.lua XADDs the event ──▶ {ws:N}:usage stream ──▶ drain.py ──▶ UsageEvent (workspace schema)
    Redis failing: engine._degraded ──▶ spool.py (SpooledEvent, public) ──▶ replayed into the stream

- events.py: the event's format in the stream, and its identity (the stream entry id, or the
  id the spool gave it): made by the server, never by the caller;
- spool.py: events admitted while Redis failed, kept in PostgreSQL and replayed once;
- drain.py: stream -> workspace schema, stored once whatever is replayed.
"""
