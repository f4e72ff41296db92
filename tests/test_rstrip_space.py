"""`rstrip_space` (the raw text of a kept line, without its line end) strips exactly what
Python's str.rstrip strips of space, tab, CR, LF, VT and FF, and nothing else."""

from __future__ import annotations

import duckdb

from costkit.readers.base import WHITESPACE, rstrip_space

SAMPLES = [
    "", " ", "\n", "\r\n", " \t\r\n\x0b\x0c", "x", "x\n", "x \r\n", "a b\tc \n",
    "{\"a\": 1}\r\n", "  lead and trail  \n\n", "x\u00a0\n", "x\u00a0", "\u3000x\u3000\n",
    "mid\n\nline\n", "x" * 5000 + " \n", "é\t", "x\x0b\x0c\x0b",
]


def test_strips_as_python_does() -> None:
    con = duckdb.connect()
    for text in SAMPLES:
        ours, theirs = con.execute(
            f"SELECT {rstrip_space('$1')}, rtrim($1, {WHITESPACE})", [text]).fetchone()
        assert ours == text.rstrip(" \t\r\n\x0b\x0c"), repr(text)
        assert ours == theirs, repr(text)  # the expression it replaces
