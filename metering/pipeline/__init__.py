"""The usage pipeline: what happens to an admitted request after the check.

    check.lua XADDs the event ──▶ {ws:N}:usage stream ──▶ drain.py ──▶ UsageEvent (workspace schema,
    Redis failing: engine._degraded ──▶ spool.py            (group)      monthly partitions)
      (SpooledEvent, public) ──▶ replayed into the stream                  │ same transaction
                                                                          ▼
                              UsageHourly (workspace) + UsageDaily (public): rollups.py
                              admitted (Redis) = stored = rolled up: reconcile.py

- events.py: the event's format in the stream, and its identity (the stream entry id, or the
  id the spool gave it): made by the server, never by the caller;
- spool.py: events admitted while Redis failed, kept in PostgreSQL and replayed once;
- drain.py: stream -> workspace schema through a consumer group, stored once whatever is
  replayed, acknowledged after the commit;
- partitions.py: the raw table's monthly partitions, made ahead, dropped on retention;
- rollups.py: hourly rollups and daily totals, recomputed from raw events;
- reconcile.py: per workspace and hour, admitted = stored = rolled up, or an alert.
"""
