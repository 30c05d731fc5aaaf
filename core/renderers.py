"""The API's JSON renderer: DRF's output, written by orjson.

DRF's JSONRenderer costs ~30k instructions to render `{"words": 1}` and ~57k for the
analysis of /api/v1/analyze: it parses the accepted media type for an indent and builds a
json.JSONEncoder and a C encoder for every response. orjson writes the same document in
~2k and ~4k (bench/README.md, "Metering", latest figures).

The bytes are DRF's: compact, UTF-8 (UNICODE_JSON), U+2028 and U+2029 escaped (so the output
stays a JavaScript subset), keys in order. What orjson would write differently goes through
DRF's own encoder: dates and times (DRF writes "Z" for UTC and milliseconds), dataclasses,
and everything orjson doesn't know (Decimal, lazy translations, querysets, ...). What orjson
can't write at all (an int beyond 64 bits, nesting deeper than 254) and an indent asked for
in the Accept header (`application/json; indent=4`) are rendered by DRF's renderer itself.
The one difference: a float that is NaN or infinite is written as null, where DRF's strict
mode raised an error (a 500); and very small floats keep their value but not Python's
spelling (1e-05 is written 0.00001).
"""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_default = JSONEncoder().default
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if (accepted_media_type and "indent" in accepted_media_type) or (renderer_context or {}).get("indent"):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out
