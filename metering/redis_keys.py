"""Every Redis key metering writes, named in one place.

All keys of a workspace share its hash tag, {ws:<id>}, so one check touches one Redis Cluster
slot (DESIGN.md, "Scale beyond one machine"):

    {ws:7}:usage                          the usage stream (metering/pipeline drains it)
    {ws:7}:refusals:<month start>         refusal counts and first-refusal markers, per month
    {ws:7}:burst:<key id> | :burst:user:<id>   a key's (or a dashboard member's) burst state (GCRA)
    {ws:7}:q:<meter>:<window>:<start>     units counted in a calendar window
    {ws:7}:cr:<meter>:<month start>       credits used from the monthly allowance
    {ws:7}:topup:<meter>                  bought credits left (metering.services.credits_top_up)
    {ws:7}:reset:<counter key's rest>     units an operator's reset took off a counter (usage_reset),
                                          added back by the reconciliation
    {ws:7}:demo:<address>:q:<meter>:<window>:<start>   a keyless demo caller's units (metering.demo),
    {ws:7}:demo:all:q:<meter>:<window>:<start>         and every demo caller's, in the demo workspace
    {ws:7}:reqs | :reqs:folding           request analytics flushed by web processes, and the
                                          batch the drain is folding (metering/analytics/recorder.py)

and one key outside any workspace's slot, never touched by the hot path's script:

    analytics:pending                     ids of workspaces whose :reqs hash has something to fold
    drain:status                          "<finished at> <lag>" (epoch s, s) of the drain's last run
"""

from metering import windows


def tag(workspace_id: int) -> str:
    """The hash tag every key of a workspace shares (Cluster: one slot per workspace)."""
    return f"{{ws:{workspace_id}}}"


def usage_stream(workspace_id: int) -> str:
    return f"{tag(workspace_id)}:usage"


def usage_stream_pattern() -> str:
    """Every workspace's usage stream (SCAN pattern; braces are literal in Redis globs)."""
    return "{ws:*}:usage"


def refusals(workspace_id: int, at: float) -> str:
    """Refusal counts (and first-refusal markers) of a workspace for the calendar month of `at`."""
    return f"{tag(workspace_id)}:refusals:{windows.bounds('month', at)[0]}"


def burst(workspace_id: int, subject: str) -> str:
    """`subject`: a key id, or "user:<id>" for a dashboard session."""
    return f"{tag(workspace_id)}:burst:{subject}"


def quota(workspace_id: int, meter: str, window: str, start: int) -> str:
    return f"{tag(workspace_id)}:q:{meter}:{window}:{start}"


def quota_pattern(workspace_id: int, meter: str, window: str) -> str:
    """Every calendar window's counter of a meter (SCAN pattern)."""
    return f"{tag(workspace_id)}:q:{meter}:{window}:*"


def quota_pattern_all_workspaces(meter: str, window: str, start: int) -> str:
    """One calendar window's counter of a meter in every workspace (SCAN pattern)."""
    return f"{{ws:*}}:q:{meter}:{window}:{start}"


def workspace_of(key: str) -> int | None:
    """The workspace id in the hash tag a key starts with, None for any other key."""
    if not key.startswith("{ws:") or "}" not in key:
        return None
    number = key[4:key.index("}")]
    return int(number) if number.isdigit() else None


def credits(workspace_id: int, meter: str, month_start: int) -> str:
    return f"{tag(workspace_id)}:cr:{meter}:{month_start}"


def topup(workspace_id: int, meter: str) -> str:
    return f"{tag(workspace_id)}:topup:{meter}"


def reset_offset(counter_key: str) -> str:
    """Where usage_reset keeps what it took off `counter_key` (a key of this module, tag first)."""
    tag_end = counter_key.index("}") + 1
    return f"{counter_key[:tag_end]}:reset{counter_key[tag_end:]}"


def demo_quota(workspace_id: int, subject: str, meter: str, window: str, start: int) -> str:
    """A demo caller's counter (`subject`: its address bucket, or "all" for every caller's)."""
    return f"{tag(workspace_id)}:demo:{subject}:q:{meter}:{window}:{start}"


def request_stats(workspace_id: int) -> str:
    return f"{tag(workspace_id)}:reqs"


def request_stats_folding(workspace_id: int) -> str:
    return f"{tag(workspace_id)}:reqs:folding"


def request_stats_pending() -> str:
    """A set of workspace ids (written by the flush's pipeline, not by check.lua: a key outside
    the workspace's hash tag is fine there), so the drain finds them without a SCAN."""
    return "analytics:pending"


def drain_status() -> str:
    return "drain:status"
