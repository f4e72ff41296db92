"""The small pieces of the monthly report's HTML: escaping and the helpers every section uses.

Every user-controlled string is HTML-escaped with its control characters written out (`h`;
its secrets are masked before, in `costkit.report.html`), and JSON placed inside a <script>
element cannot close it (`script_json`). The underscored helpers are for the page's
sections (`costkit.report.html`, `costkit.report.tables`) only.
"""

from __future__ import annotations

from costkit.core.safe_output import html_text

RAW_LIMIT = 240
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def h(value: object) -> str:
    """Text for HTML (element content and quoted attributes), control characters written
    out (safe_output.html_text)."""
    return html_text(value)


def script_json(text: str) -> str:
    """JSON text safe inside <script type=application/json>: no `</script>`, no `<!--`."""
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text) if _needs_escape(text) else text


def _needs_escape(text: str) -> bool:
    return any(ch in text for ch in _JSON_ESCAPES)


def _title(text: str) -> str:
    return f' title="exact: {h(text)}"' if text else ""


def _chart(name: str, figures: dict) -> str:
    if name not in figures:
        return '<p class="lead">Nothing to draw.</p>'
    return (f'<div class="chart" id="fig-{name}" data-figure="fig-{name}-data" '
            f'role="img" aria-label="{h(name.replace("-", " "))} chart"></div>')


def _table(headers: list[str], rows: list[str], numeric_from: int | None = None,
           first_numeric: bool = False, numeric_to: int | None = None) -> str:
    cells = []
    for i, name in enumerate(headers):
        numeric = (numeric_from is not None and i >= numeric_from
                   and (numeric_to is None or i < numeric_to)) or (first_numeric and i == 0)
        cells.append(f'<th{" class=num" if numeric else ""}>{h(name)}</th>')
    return (f"<table><thead><tr>{''.join(cells)}</tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table>")


def _days(month, n: int | None) -> str:
    """The first `n` days of a month, e.g. '1-24 November 2026' ('1 November 2026')."""
    first = month.strftime("%B %Y")
    return f"1 {first}" if n == 1 else f"1\u2013{n} {first}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _or_none(value: object) -> str:
    return "(none)" if value is None else str(value)


def _cut(raw: str | None) -> str:
    if raw is None:
        return ""
    return raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "\u2026"
