"""Stripe's request encoding: `a[b][0][c]=v` form fields (and query strings) into nested data.

stripe-python sends every list with indices (`expand[0]=...`, `items[0][price]=...`) and
booleans as `true`/`false` (stripe/_encode.py); values stay strings, as Stripe receives them.
"""

import re
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\]]*)\]")


def _path(field: str) -> list[str]:
    head = field.split("[", 1)[0]
    return [head, *_PART.findall(field[len(head):])]


def decode(text: str) -> dict:
    """Nested dicts from the form; dicts whose keys are all digits become lists (in order)."""
    root: dict = {}
    for field, value in parse_qsl(text, keep_blank_values=True):
        node = root
        parts = _path(field)
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def boolean(value, default: bool = False) -> bool:
    if value is None:
        return default
    return str(value).lower() == "true"
