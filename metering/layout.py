"""What the engine sends check.lua and what the script answers, by position, described once.

The metered request's one EVALSHA carries each window's settings as numbers in a MessagePack
array and gets an array back (numbers by position are what Redis's Lua reads cheapest:
bench/README.md). Both sides are built from the names below, so they cannot drift apart:

- engine.py packs the settings with `pack_window` and reads the reply through `REPLY` and
  `REPLY_WINDOW` offsets;
- check.lua is rendered by `render_script`: each `@name` in its source becomes the position
  this module gives that name (`@limit` -> 1, `@window_base` -> 3, ...), so the script holds
  plain numbers, as if written by hand, and nothing is looked up per request.

tests/metering/test_layout.py renders the script from a shuffled layout and checks that every
decision stays the same: a position written by hand on either side fails it.
"""

import re

# ARGV[1]'s first array: these, then each window's WINDOW fields (Lua arrays start at 1).
HEAD = ("count", "refusals_ttl")
# Per window. kind: KINDS; limit: requests (gcra), units (fixed), allowance (credits);
# hard: 1 refuse over the limit, 0 admit and count the overage; span: gcra: the burst window
# in ms, fixed/credits: when the window ends, epoch ms; extra: credits: index into KEYS of the
# top-up balance, gcra: how long its key lives, ms, as a string; fixed: 0.
WINDOW = ("kind", "limit", "hard", "span", "extra")
KINDS = {"gcra": 1, "fixed": 2, "credits": 3}

# The reply: these, then per window REPLY_WINDOW.
REPLY = ("admitted", "refused", "retry_ms", "flags")
REPLY_WINDOW = ("value", "extra")


def pack_window(**fields) -> list:
    """One window's settings in WINDOW order. Raises KeyError for a missing field."""
    return [fields[name] for name in WINDOW]


def reply_offset(name: str) -> int:
    """0-based index of a REPLY field in the reply (Python side)."""
    return REPLY.index(name)


def reply_window_start(name: str) -> int:
    """0-based index of the first window's `name` in the reply; the next window's is 2 further on."""
    return len(REPLY) + REPLY_WINDOW.index(name)


def positions() -> dict[str, int]:
    """The numbers check.lua's @names stand for (1-based, as Lua indexes)."""
    out = {f"head_{name}": i + 1 for i, name in enumerate(HEAD)}
    out.update({name: i for i, name in enumerate(WINDOW)})  # offsets from a window's first slot
    out["window_base"] = len(HEAD) + 1  # the first window's first slot
    out["window_size"] = len(WINDOW)
    out.update({f"kind_{kind}": number for kind, number in KINDS.items()})
    out.update({f"reply_{name}": i + 1 for i, name in enumerate(REPLY)})
    # window i's value sits at reply_value + reply_step * i (i from 1), its extra likewise
    out["reply_step"] = len(REPLY_WINDOW)
    out.update({f"reply_w_{name}": len(REPLY) + i + 1 - len(REPLY_WINDOW) for i, name in enumerate(REPLY_WINDOW)})
    out["reply_end"] = len(REPLY) + 1  # + reply_step * n: the slot after the last window's fields
    return out


_NAME = re.compile(r"@([a-z_]+)")


def render_script(source: str) -> str:
    """check.lua with each @name replaced by its position. Raises KeyError for an unknown name."""
    table = positions()
    rendered = _NAME.sub(lambda m: str(table[m.group(1)]), source)
    # `+ 0]`: a window's first field; written out so every field reads alike in the source.
    return rendered.replace(" + 0]", "]")


def names_in(source: str) -> set[str]:
    return set(_NAME.findall(source))
