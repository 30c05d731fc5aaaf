"""Key scopes and what each implies: admin includes write, write includes read.

Its own module, below authentication, the key cache and permissions, which all read it.
"""

IMPLIED = {"admin": {"admin", "write", "read"}, "write": {"write", "read"}, "read": {"read"}}


def granted(scopes) -> set[str]:
    """Every scope `scopes` give, with what they imply."""
    out: set[str] = set()
    for s in scopes:
        out |= IMPLIED.get(s, set())
    return out
