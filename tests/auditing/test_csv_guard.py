"""The CSV export's guard against spreadsheet formulas (CSV injection), anywhere in a cell.

Found by an outside tester: a User-Agent `;=1+1` came out unquoted, so a spreadsheet
splitting on `;` ran `=1+1` (issue 18, finding 10). Every field is quoted now, and a
formula character is neutralised at the start of a cell and after anything a
spreadsheet may split a cell on.
"""

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditing.exports import csv_chunks, safe_cell
from auditing.services import record
from tests.conftest import client_for

FORMULA = "=+-@\t\r"
# What a spreadsheet may split a cell on (delimiters of any locale, line breaks, a stray quote).
SEPARATORS = ",;|\t\r\n\""
PAYLOADS = [
    ";=1+1",
    "=HYPERLINK(\"http://evil.test\")",
    "Mozilla/5.0,=cmd|' /C calc'!A0",
    "a;+SUM(1,2)",
    "x|-2+3",
    "ok\n@SUM(A1:A2)",
    "ok\r\n=1+1",
    "tab\t=1+1",
    " ; \t =1+1",
    "\t=1+1",
    "\rx",
    "\"=1+1",
    "  =1+1",
    "－1+1 ＝1+1",
]


def _exposed(cell: str) -> list[str]:
    """Pieces of `cell` a spreadsheet could read as a formula, however it splits it."""
    pieces = re.split(f"[{re.escape(SEPARATORS)}]", cell)
    starts = [cell, *pieces[1:]]
    return [p for p in starts if p.lstrip(" \t\r\n")[:1] in set("=+-@＝＋－＠") or p[:1] in ("\t", "\r")]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_cell_leaves_no_formula_at_the_start_or_after_a_separator(payload):
    # when / then
    assert _exposed(safe_cell(payload)) == []


@given(st.text(alphabet=FORMULA + SEPARATORS + " ab1'＝", max_size=30))
def test_safe_cell_leaves_no_formula_in_any_text(text):
    # given any text of formula characters, separators and plain ones
    # when it is made safe / then no piece of it starts a formula, and only quote marks were added
    safe = safe_cell(text)
    assert _exposed(safe) == []
    assert safe.replace("'", "") == text.replace("'", "")


def test_safe_cell_leaves_ordinary_text_alone():
    # given what most cells hold
    for text in ("owner@acme.test", "Mozilla/5.0 (X11; Linux x86_64)", "2026-12-04T10:00:00+00:00", "a-b", ""):
        # when / then
        assert safe_cell(text) == text


def test_csv_quotes_every_field():
    # given a row of plain values
    row = (1, __import__("datetime").datetime(2026, 1, 1), "user", "1", "ana@acme.test", "login", "info", "", "",
           "198.51.100.1", "curl/8", "rid", "success", {"n": 1})
    # when it is written
    lines = "".join(csv_chunks([row])).splitlines()
    # then every field of every line is in double quotes
    for line in lines:
        assert line.startswith('"') and line.endswith('"')
        assert all(f.startswith('"') and f.endswith('"') for f in re.split(r'(?<="),(?=")', line))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_export_neutralises_a_formula_anywhere_in_a_cell(workspace, owner, payload):
    # given an event whose user agent and details carry the payload
    record(action="login_failed", workspace=workspace, user_agent=payload, details={"email": payload})
    # when exported as CSV
    response = client_for(workspace, owner).get("/audit/export", {"format": "csv", "action": "login_failed"})
    body = b"".join(response.streaming_content).decode()
    # then the cells hold the text, quoted, with nothing a spreadsheet would run
    row = next(csv.DictReader(io.StringIO(body)))
    for cell in (row["user_agent"], row["details"]):
        assert _exposed(cell) == [], cell
    assert row["user_agent"].replace("'", "") == payload.replace("'", "")[:300]
