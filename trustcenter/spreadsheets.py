"""Cells for files that people open in a spreadsheet (CSV and XLSX exports of every app)."""

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value) -> str:
    """A value as a cell that a spreadsheet opening the file shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Echo:
    """A file-like object for csv.writer that hands each written line back, for streaming a CSV
    (StreamingHttpResponse) without holding it."""

    def write(self, value: str) -> str:
        return value
