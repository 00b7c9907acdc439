"""Tables of the portal as light HTML, and CSV downloads, without pandas.

``st.dataframe`` serialises through pyarrow, which imports pandas: about 90 MB of the portal's
resident memory for tables of a few dozen rows. These tables are static HTML in the glass
theme (``.aq-table``); each carries ``data-table`` so tests can find and read it.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

Format = Callable[[Any], str]


def number(digits: int = 3) -> Format:
    return lambda v: f"{v:,.{digits}f}"


def percent(digits: int = 0) -> Format:
    return lambda v: f"{v:.{digits}%}"


class Html(str):
    """Cell content that is already HTML (built here from escaped parts)."""


_TONE = {
    "completed": "ok", "passed": "ok", "running": "busy", "pending": "busy", "scheduled": "busy",
    "failed": "bad", "crashed": "bad", "cancelled": "muted", "cancelling": "muted",
    "active": "ok", "paused": "muted",  # a schedule
    "critical": "bad", "warning": "warn", "firing": "bad", "resolved": "ok",  # an alert
}  # fmt: skip


def badge(value: Any) -> str:
    """A state as a coloured pill: COMPLETED and passed green, FAILED and critical red, warning
    amber, RUNNING blue; anything else grey."""
    text = str(value)
    tone = _TONE.get(text.lower(), "muted")
    return Html(f'<span class="aq-badge aq-{tone}">{html.escape(text)}</span>')


def timestamp(v: Any) -> str:
    return str(v)[:16].replace("T", " ")


def _cell(value: Any, fmt: Format | None) -> str:
    if value is None or value == "":
        return '<span class="aq-none">–</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return html.escape(", ".join(map(str, value))) or '<span class="aq-none">–</span>'
    if fmt is not None:
        shown = fmt(value)
        return shown if isinstance(shown, Html) else html.escape(shown)
    if isinstance(value, float):
        return f"{value:,.3f}"
    return html.escape(str(value))


def table(
    name: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    formats: Mapping[str, Format] | None = None,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Show ``rows`` (dicts) as a table of ``columns`` (default: the first row's keys)."""
    columns = list(columns or (rows[0].keys() if rows else []))
    formats, labels = formats or {}, labels or {}
    head = "".join(f"<th>{html.escape(labels.get(c, c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c), formats.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    st.markdown(
        f'<div class="aq-table-wrap"><table class="aq-table" data-table="{html.escape(name)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>",
        unsafe_allow_html=True,
    )


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"); the
# API defuses its CSV the same way (serving/tabular.py), which the portal may not import.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def _defused(value: Any) -> Any:
    """Text that a spreadsheet would run (a hostile series id) gets a leading apostrophe; numbers
    are left as they are, so a negative forecast stays a number."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def to_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows as a CSV download, safe to open in a spreadsheet (see ``_defused``)."""
    out = io.StringIO()
    if rows:
        fields = [str(_defused(name)) for name in rows[0]]
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows([_defused(row.get(name, "")) for name in rows[0]] for row in rows)
    return out.getvalue().encode()
