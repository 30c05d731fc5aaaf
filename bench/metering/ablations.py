"""What-if variants of (b) for bench/metering/ab.py, never for production: each replaces one
part of the metered path in the gunicorn it is named for (BENCH_ABLATE, comma-separated), so
an A/B run shows what that part costs under load.

  ping            engine.check sends a PING instead of the EVALSHA and answers one constant
                  decision: (b) without the metering itself, one round trip kept
  no-redis        engine.check answers one constant decision without asking Redis: (b) with
                  no round trip at all (what the round trip costs, against ping)
  instant-script  the EVALSHA goes out as always (same arguments) to a script that answers a
                  constant reply at once: what check.lua's own running time costs
  no-headers      no rate-limit headers on the response
  hdr-compute-only  the header values are computed but not set (what setting and sending costs)
  hdr-short       the five headers set with one-character values (what their length costs)
  no-spend-cap    the policy without the spend cap's window (a window with a "reason"): with
                  BENCH_SPEND_CAP_CENTS set for prepare.py, what the spend cap adds to the check
"""

import hashlib

NAMES = ("ping", "no-redis", "instant-script", "no-headers", "hdr-compute-only", "hdr-short", "no-spend-cap")
INSTANT = "return {1, 0, 0, 0, 9999999, 0, 5, 0, 5, 0, 5, 0}"  # 4 windows, all admitted


HEADERLESS = {"no-headers", "hdr-compute-only"}  # variants whose (b) answers without rate-limit headers


def chosen(names: str) -> set[str]:
    """The ablations named in BENCH_ABLATE's comma-separated form."""
    return {n.strip() for n in names.split(",") if n.strip()}


def apply(names: str) -> None:
    """Patch this (Django-ready) process for the named ablations; the module itself imports
    without Django, for ab.py's own use of NAMES, HEADERLESS and chosen()."""
    from core.redis import execute
    from metering import engine, headers

    picked = chosen(names)
    if unknown := picked - set(NAMES):
        raise SystemExit(f"BENCH_ABLATE: unknown {sorted(unknown)}; known: {', '.join(NAMES)}")
    if picked & {"ping", "no-redis"}:
        real_check, first, ping = engine.check, [], "ping" in picked

        def check(**kwargs):
            if not first:
                first.append(real_check(**kwargs))
            if ping:
                execute("PING")
            return first[0]

        engine.check = check
    if "instant-script" in picked:
        engine._SCRIPT_SOURCE = INSTANT
        engine._SCRIPT_SHA = hashlib.sha1(INSTANT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        engine._plans.clear()
    if "no-spend-cap" in picked:
        real_policy_for, stripped = engine.policy_for, {}

        def policy_for(workspace):
            policy = real_policy_for(workspace)
            if id(policy) not in stripped:  # one stripped copy per cached policy: plans stay cached
                stripped.clear()
                stripped[id(policy)] = {**policy, "meters": {
                    m: {w: v for w, v in spec.items() if not (isinstance(v, dict) and v.get("reason"))}
                    for m, spec in policy.get("meters", {}).items()}}
            return stripped[id(policy)]

        engine.policy_for = policy_for
    if "no-headers" in picked:
        headers.apply = lambda response, decision: None
    if "hdr-compute-only" in picked:
        headers.apply = lambda response, decision: headers._values(decision)
    if "hdr-short" in picked:

        def short(response, decision):
            store = response.headers._store
            for (lower, name), _value in zip(headers.NAMES, headers._values(decision), strict=False):
                store[lower] = (name, "1")
        headers.apply = short
