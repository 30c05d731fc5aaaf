"""CSV and JSON Lines exports of the audit log, streamed at any size.

Rows come from a server-side cursor and leave as they are formatted, a few hundred per
chunk: memory stays flat whether the export is a hundred events or ten million.
"""

import csv
import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone

from auditing.selectors import EXPORT_FIELDS

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
ROWS_PER_CHUNK = 500
HEADER = [("actor" if f == "actor_label" else f) for f in EXPORT_FIELDS]
_DETAILS = EXPORT_FIELDS.index("details")
_AT = EXPORT_FIELDS.index("occurred_at")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection);
# actor names, user agents and details come from outside, so such cells get a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A write-only file that hands back what was written (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def _safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    buffer = []
    for row in rows:
        row = list(row)
        row[_AT] = row[_AT].isoformat()
        row[_DETAILS] = json.dumps(row[_DETAILS], sort_keys=True, cls=DjangoJSONEncoder)
        buffer.append(writer.writerow([_safe_cell(v) for v in row]))
        if len(buffer) >= ROWS_PER_CHUNK:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def jsonl_chunks(rows: Iterable[tuple]) -> Iterator[str]:
    buffer = []
    for row in rows:
        buffer.append(json.dumps(dict(zip(HEADER, row, strict=True)), cls=DjangoJSONEncoder) + "\n")
        if len(buffer) >= ROWS_PER_CHUNK:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def streaming_export(rows: Iterable[tuple], *, fmt: str, name: str) -> StreamingHttpResponse:
    chunks = csv_chunks(rows) if fmt == "csv" else jsonl_chunks(rows)
    response = StreamingHttpResponse((chunk.encode() for chunk in chunks), content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
