"""The API's JSON parser: DRF's (the stdlib decoder, strict constants), with nesting bounded.

The stdlib decoder recurses once per level: a body nested 100,000 deep raised RecursionError,
a 500. One nested ~900 deep parsed, then blew the stack further on (a serializer's `str()` of
the value, a renderer). No document this API takes is more than a few levels deep, so past
MAX_DEPTH the body is refused as malformed (400), whatever the view does with it.

Counting brackets first keeps the cost off ordinary bodies: a document can't be deeper than
its number of `[` and `{`, so the nesting is only measured when that count is past the bound.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_DEPTH = 64
TOO_DEEP = f"JSON parse error - the document is nested more than {MAX_DEPTH} levels deep."


def _deeper_than(data, limit: int) -> bool:
    """Whether lists/objects in `data` nest past `limit` levels (iterative: no recursion of our own)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # DRF 3.18's; not in the stubs
        parse_constant = json.strict_constant if self.strict else None
        try:
            text = stream.read().decode(encoding)
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(TOO_DEEP)
        except ValueError as exc:  # as DRF's parser: bad JSON, bad encoding
            raise ParseError(f"JSON parse error - {exc}")
        if (
            isinstance(data, dict | list)
            and text.count("[") + text.count("{") > MAX_DEPTH
            and _deeper_than(data, MAX_DEPTH)
        ):
            raise ParseError(TOO_DEEP)
        return data
