"""CSV and JSON Lines exports of the audit log, streamed at any size.

Rows come from a server-side cursor and leave as they are formatted, a few hundred per
chunk: memory stays flat whether the export is a hundred events or ten million.
"""

import csv
import json
import re
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
# CSV injection: a spreadsheet runs a cell that starts with one of these as a formula
# (the full-width forms too, which some spreadsheets fold to ASCII). Actor names, user
# agents and details come from outside, so the export neutralises them with a leading '
# at the start of a cell, and also after anything a spreadsheet may split a cell on (a
# delimiter of any locale, a line break, a stray quote): an outside tester's User-Agent
# `;=1+1` ran as `=1+1` where `;` is the list separator (issue 18). Every field is quoted
# too (QUOTE_ALL). The guard adds quote marks, so the CSV is for people and spreadsheets;
# the JSON Lines export is the faithful one for programs (a CSV details cell may no longer
# parse as JSON when, say, a list holds negative numbers).
_FORMULA = r"=+\-@\uff1d\uff0b\uff0d\uff20"
_AT_START = re.compile(rf"^(?=[\t\r]|\s*[{_FORMULA}])")
_AFTER_SEPARATOR = re.compile(rf"""([,;|\t\r\n"]\s*)(?=[{_FORMULA}])""")


class _Line:
    """A write-only file that hands back what was written (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    """`value` as text no spreadsheet runs as a formula, however it splits the cell."""
    text = "" if value is None else str(value)
    text = _AFTER_SEPARATOR.sub(r"\1'", text)
    return _AT_START.sub("'", text, count=1)


def csv_chunks(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(HEADER)
    buffer = []
    for values in rows:
        row = list(values)
        row[_AT] = row[_AT].isoformat()
        row[_DETAILS] = json.dumps(row[_DETAILS], sort_keys=True, cls=DjangoJSONEncoder)
        buffer.append(writer.writerow([safe_cell(v) for v in row]))
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
