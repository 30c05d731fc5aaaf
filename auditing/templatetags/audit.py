"""{{ event.details|detail_lines }}: an event's details as readable "key: value" lines, never a
Python dict (`{'from': None}` was what the page used to show)."""

import json

from django import template

register = template.Library()

_NONE = "none"


def _text(value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) if value else _NONE
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value) if str(value) != "" else "(empty)"


def _lines(value, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(item, dict) and item:
            out.extend(_lines(item, prefix=f"{name}."))
        else:
            out.append((name, _text(item)))
    return out


@register.filter
def detail_lines(details) -> list[tuple[str, str]]:
    """[(label, text)] for a details dict; nested dicts become "a.b" labels."""
    if not details:
        return []
    if not isinstance(details, dict):
        return [("details", _text(details))]
    return _lines(details)
