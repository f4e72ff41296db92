"""The Python test that lets costkit.core.safe_output skip DuckDB for text no secret rule can
match. It may flag too much, never too little: whenever the masking SQL (the reference, run on
DuckDB here without the test in front of it) changes a text, the test must have flagged it.
The cases aim at where Python's regular expressions differ from DuckDB's RE2: word
boundaries next to non-ASCII letters, and case folding of the Kelvin sign and the long s."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.core.safe_output import _could_hold_secret, mask_texts
from costkit.core.secrets import mask_secrets

CON = duckdb.connect()
STRIPE = "sk_live_51HxAbCdEfGhIjKlMnOpQr"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dozjgNryP4J3jVmNHl0w5N"


def reference(texts: list[str]) -> list[str]:
    sql = f"SELECT list_transform(?::VARCHAR[], lambda ck_v: {mask_secrets('ck_v')})"
    return CON.execute(sql, [texts]).fetchone()[0]


TRICKY = [
    STRIPE, f"x{STRIPE}", f"é{STRIPE}", f"日本{STRIPE}", f"\u212a{STRIPE}",
    # RE2's (?i) folds K (Kelvin sign, U+212A) with k and ſ (long s, U+017F) with s
    "\u212aey_abcdef1234567", "\u017fk-abcdefghijklmnop", "ſk_live_51HxAbCdEfGhIjKlMnOp",
    "ak-\u212a" + "abcdefghijk1", "éxoxb-123456789012345", "ékey_1234567890123",
    # \b before a prefix: after a non-ASCII letter RE2 sees a boundary, Python's \b does not
    "ésk-abcdefghijklmnop", "Éghp_" + "Ab1" * 12, "äAKIAABCDEFGHIJKLMNOP", "öAIza" + "x" * 33,
    "µeyJabcdefghij.abc.def", f"a{JWT}", f"ü{JWT}",
    '{"api_key": "hunter2hunter2"}', '{"Api_\u212aey": "hunter2hunter2"}',
    "https://x.test/?api_key=abcdef123456", "https://x.test/?\u212aey=abcdef123456",
    "Bearer abcdefghijklmnop", "BEARER\u00a0abcdefghijklmnopq", "bearer\tabcdefghijklmnop",
    # nothing to mask
    "deepseek-v3-2", "chat.completions", "key_search_staging", "expected: costkit's defaults",
    "", "[/foo]", "\x1b[31mred", "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_text_the_sql_masks_is_flagged(text):
    [masked] = reference([text])
    if masked != text:
        assert _could_hold_secret(text), f"{text!r} is masked by the SQL but not flagged"
    assert mask_texts([text]) == [masked]


def test_plain_output_is_not_sent_to_duckdb():
    for text in ("deepseek-v3-2", "chat.completions", "input cost $0.00000684 USD",
                 "thinking_budget not set: the card's default 32,768 assumed", "日本語 é"):
        assert not _could_hold_secret(text)


fragments = st.sampled_from([
    STRIPE, JWT, "sk", "ghp", "key", "api", "_", "-", "\u212a", "\u017f", "é", "日",
    "Bearer", " ", "\t", "\u00a0", '"', ":", "=", "?", "&", "eyJ", "AKIA", "AIza", "…",
    "abcdefgh", "ABCDEFGH", "12345678", ".",
])


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(fragments, st.text(max_size=6)), max_size=10))
def test_flagging_finds_everything_the_sql_masks(parts):
    text = "".join(parts)
    [masked] = reference([text])
    if masked != text:
        assert _could_hold_secret(text)
    assert mask_texts([text, "deepseek-v3-2", text]) == [masked, "deepseek-v3-2", masked]
