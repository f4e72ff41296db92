"""costkit.core.safe_output: each output's rule for user strings, checked against hand-written
expectations (OWASP's CSV-injection list, JSON's grammar, what rich would otherwise parse)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table

from costkit.core.safe_output import (
    CsvWriter,
    SafeConsole,
    csv_cell,
    escape_controls,
    html_text,
    json_safe,
    masked,
    text,
)

STRIPE = "sk_live_51HxAbCdEfGhIjKlMnOpQr"
MASKED = f"sk_…OpQr#{hashlib.sha256(STRIPE.encode()).hexdigest()[:8]}"


@pytest.mark.parametrize(("given_text", "shown"), [
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("a\x00b", "a\\x00b"),
    ("tab\there", "tab\\there"),
    ("line\nbreak\r", "line\\nbreak\\r"),
    ("del\x7f c1\x9b", "del\\x7f c1\\x9b"),
    ("bidi \u202eevil\u202c", "bidi \\u202eevil\\u202c"),
    ("isolate \u2066x\u2069", "isolate \\u2066x\\u2069"),
    ("C:\\logs\\a.jsonl é 日本", "C:\\logs\\a.jsonl é 日本"),  # printable text unchanged
])
def test_escape_controls(given_text, shown):
    assert escape_controls(given_text) == shown


@pytest.mark.parametrize(("value", "cell"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ('=HYPERLINK("http://x")', "'=HYPERLINK(\"http://x\")"),
    ("+1", "'+1"),
    ("-1", "'-1"),  # as text (a project named -1) it is quoted too
    ("@SUM(1)", "'@SUM(1)"),
    ("\tlead", "'\\tlead"),
    ("\rlead", "'\\rlead"),
    ("a=b", "a=b"),
    ("plain", "plain"),
    ("", ""),
    (None, ""),
    (Decimal("-1.5000"), "-1.5"),  # numbers stay numbers, exact and without exponent
    (Decimal("5.7E-7"), "0.00000057"),
    (-3, -3),
    (True, "true"),
])
def test_csv_cell(value, cell):
    assert csv_cell(value) == cell


def test_csv_writer_round_trips_through_a_csv_reader():
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(["project", "cost"])
    writer.writerow(['=HYPERLINK("http://x")', Decimal("-0.25")])
    writer.writerow(["a,b\nc", 7])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["project", "cost"], ["'=HYPERLINK(\"http://x\")", "-0.25"],
                    ["a,b\\nc", "7"]]


@given(st.text())
def test_json_safe_keeps_the_document(value):
    raw = json.dumps({"v": value}, ensure_ascii=False)
    safe = json_safe(raw)
    assert json.loads(safe) == {"v": value}
    assert not any(0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E for c in safe)


def test_html_text():
    assert html_text('<img src=x onerror="alert(1)">\x1b') == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\\x1b")
    assert html_text(None) == ""


def render(*items) -> str:
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, width=80, no_color=True)
    for item in items:
        console.print(item)
    return buffer.getvalue()


def test_safe_console_prints_markup_and_emoji_codes_as_typed():
    # a plain rich Console raises MarkupError on "[/foo]" and styles "[bold red]"
    assert render("[/foo] [bold red]x :smile:") == "[/foo] [bold red]x :smile:\n"


def test_safe_console_escapes_controls_in_table_cells_and_titles():
    table = Table(title="by [/project]\x1b]0;pwned\x07")
    table.add_column("name\x00")
    table.add_row("\x1b[2J\x1b[31mred")
    table.add_row(text("two", "lines\x1b"))
    out = render(table)
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert "[/project]\\x1b]0;pwned" in out and "\\x07" in out  # (the title wraps)
    assert "name\\x00" in out and "\\x1b[2J\\x1b[31mred" in out
    assert "two" in out and "lines\\x1b" in out


@dataclass(frozen=True)
class Row:
    name: str
    cost: Decimal
    tags: tuple[str, ...] = ()


def test_masked_reaches_into_results():
    value = {"rows": [Row(STRIPE, Decimal("1.5"), (f"Bearer {STRIPE}", "ok"))],
             STRIPE: 2, "n": 3}
    out = masked(value)
    assert out == {"rows": [Row(MASKED, Decimal("1.5"), (f"Bearer {MASKED}", "ok"))],
                   MASKED: 2, "n": 3}
    same = Row("team-a", Decimal(1))
    assert masked(same) is same  # nothing to mask: the object itself


def test_masked_polars_frame_keeps_types_and_other_values():
    frame = pl.DataFrame({"api_key": [STRIPE, "key_team_2", None], "requests": [1, 2, 3]})
    out = masked(frame)
    assert out["api_key"].to_list() == [MASKED, "key_team_2", None]
    assert out["requests"].to_list() == [1, 2, 3] and out.schema == frame.schema
