"""One masking function (`costkit.readers.base.mask_secrets`) for stored key ids and rejected
raw text. Expected masks are written out by hand: the kind prefix, `…`, the last four
characters, `#` and 8 hex of the secret's SHA-256 (computed here with hashlib, not DuckDB)."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.core.secrets import mask_secrets
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book

BOOK = load_price_book([])
STRIPE = "sk_live_51HxAbCdEfGhIjKlMnOpQr"
GITHUB = "ghp_" + "Ab1" * 12
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
OPAQUE = "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


def h8(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


CON = duckdb.connect()


def sql_mask(value: str | None, key: bool = False) -> str | None:
    return CON.execute(f"SELECT {mask_secrets('v', key)} FROM (SELECT ?::VARCHAR AS v)",
                       [value]).fetchone()[0]


@pytest.mark.parametrize(("given_key", "expected"), [
    (STRIPE, f"sk_…OpQr#{h8(STRIPE)}"),
    # the same key with blanks around it, a trailing newline or a Bearer prefix: one key
    (f"  {STRIPE} ", f"sk_…OpQr#{h8(STRIPE)}"),
    (f"{STRIPE}\n", f"sk_…OpQr#{h8(STRIPE)}"),
    (f"Bearer {STRIPE}", f"sk_…OpQr#{h8(STRIPE)}"),
    (f"bearer\t{STRIPE}\r\n", f"sk_…OpQr#{h8(STRIPE)}"),
    (GITHUB, f"ghp_…1Ab1#{h8(GITHUB)}"),
    (JWT, f"…sR8U#{h8(JWT)}"),
    (OPAQUE, f"…6b5c#{h8(OPAQUE)}"),
    ("sk-abcdefghijklmnop", f"sk-…mnop#{h8('sk-abcdefghijklmnop')}"),  # no digit: still sk-
    # after Bearer anything is a secret; under 16 characters its tail is not shown
    ("Bearer opaque-token", f"opaque-…#{h8('opaque-token')}"),
    # readable key ids name a key; they are not one
    ("key_search_staging", "key_search_staging"),
    ("key_team_2", "key_team_2"),
    ("prod-key-1", "prod-key-1"),
    (" team a ", " team a "),
    ("[/foo]", "[/foo]"),
    (None, None),
])
def test_key_ids_are_masked_whole(given_key, expected):
    assert sql_mask(given_key, key=True) == expected


def test_raw_text_masks_every_secret_shape_and_keeps_the_rest():
    raw = json.dumps({"api_key_id": STRIPE, "token": GITHUB, "jwt": JWT, "id": "chatcmpl-42",
                      "usage": {"prompt_tokens": "12345678"}, "x": "Bearer " + OPAQUE,
                      "url": "https://gw.test/v1?api_key=abc123def456&q=1"})
    masked = sql_mask(raw)
    assert masked == json.dumps({
        "api_key_id": f"sk_…OpQr#{h8(STRIPE)}", "token": f"ghp_…1Ab1#{h8(GITHUB)}",
        "jwt": f"…sR8U#{h8(JWT)}", "id": "chatcmpl-42", "usage": {"prompt_tokens": "12345678"},
        "x": f"Bearer …6b5c#{h8(OPAQUE)}",
        "url": f"https://gw.test/v1?api_key=…#{h8('abc123def456')}&q=1"}, ensure_ascii=False)


def test_a_readable_key_id_in_raw_text_stays_as_the_column_keeps_it():
    raw = '{"api_key_id": "key_support_1", "password": "hunter2hunter2"}'
    assert sql_mask(raw) == ('{"api_key_id": "key_support_1", '
                             f'"password": "…#{h8("hunter2hunter2")}"}}')


def test_a_raw_text_cut_inside_a_secret_field_is_masked_to_its_end():
    assert sql_mask('{"api_key": "sk_live_abc') == f'{{"api_key": "sk_…#{h8("sk_live_abc")}'


secret_parts = st.sampled_from([STRIPE, GITHUB, JWT, OPAQUE, "Bearer " + OPAQUE,
                                '"api_key": "', '"', "key_", "sk-", " ", "\n", "…", "#"])


@settings(deadline=None)
@given(st.lists(st.one_of(secret_parts, st.text(max_size=12)), max_size=8))
def test_masking_twice_changes_nothing(parts):
    text = "".join(parts)
    once = sql_mask(text)
    assert sql_mask(once) == once
    key_once = sql_mask(text, key=True)
    assert sql_mask(key_once, key=True) == key_once
    # a secret standing as a word (not glued to letters or digits) never survives
    spaced = sql_mask(" ".join(parts))
    for secret in (STRIPE, GITHUB, JWT):
        assert secret not in spaced


def test_ingest_stores_no_secret(tmp_path):
    db = tmp_path / "store.duckdb"
    record = {"object": "chat.completion", "created": 1790812800, "model": "deepseek-v3-2",
              "usage": {"prompt_tokens": 10, "completion_tokens": 2}}
    lines = [json.dumps({"timestamp": "2026-10-01T00:00:00Z", "api_key_id": key,
                         "response": dict(record, id=f"r{i}")})
             for i, key in enumerate([STRIPE, f" {STRIPE} ", f"{STRIPE}\n", f"Bearer {STRIPE}"])]
    lines.append(json.dumps({"oops": True, "key": STRIPE, "gh": GITHUB, "jwt": JWT,
                             "auth": "Bearer " + OPAQUE}))
    lines.append('{"api_key": "' + GITHUB + '", not json')
    log = tmp_path / "keys.jsonl"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = ingest([log], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (4, 2)
    con = duckdb.connect(str(db), read_only=True)
    keys = {k for (k,) in con.execute("SELECT api_key_id FROM usage").fetchall()}
    stored = " ".join(str(v) for row in con.execute("SELECT * FROM rejects").fetchall()
                      for v in row)
    con.close()
    assert keys == {f"sk_…OpQr#{h8(STRIPE)}"}
    for secret in (STRIPE, GITHUB, JWT, OPAQUE, "51HxAbCdEf"):
        assert secret not in stored
    assert f"ghp_…1Ab1#{h8(GITHUB)}" in stored and f"…sR8U#{h8(JWT)}" in stored


# --- stores written before ingest masked everything --------------------------------------------

def test_outputs_mask_a_store_written_before(cli, tmp_path):
    """A store whose key ids and rejects hold secrets in clear (written straight to SQL, as
    an older costkit left them): every output masks them on the way out."""
    from datetime import UTC, datetime

    from report_data import build_store, make_rows

    rows = [r for r in make_rows() if r["model"] != "mystery-model"]
    for i, row in enumerate(rows):
        row["api_key_id"] = (f" {STRIPE}\n", f"Bearer {STRIPE}", GITHUB)[i % 3]
    db = build_store(tmp_path / "old.duckdb", rows, rejects=False)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO rejects VALUES (1, 'logs/k.jsonl', 7, NULL, 'not JSON', ?, ?)",
                [json.dumps({"api_key_id": STRIPE, "jwt": JWT}) + " oops",
                 datetime(2026, 10, 20, tzinfo=UTC)])
    con.close()
    outputs = [cli("report", "--by", "api_key", "--db", str(db), *fmt).stdout
               for fmt in ([], ["--format", "json"], ["--format", "csv"])]
    outputs += [cli("rejects", "--db", str(db), *fmt).stdout
                for fmt in ([], ["--format", "json"])]
    outputs.append(cli("forecast", "--as-of", "2026-10-25", "--by", "api_key", "--db",
                       str(db), "--format", "json").stdout)
    assert cli("report", "monthly", "--month", "2026-10", "--db", str(db), "--out",
               str(tmp_path)).exit_code == 0
    outputs.append((tmp_path / "costkit-2026-10.html").read_text(encoding="utf-8"))
    for out in outputs:
        assert out
        for secret in (STRIPE, GITHUB, JWT):
            assert secret not in out
    # the padded and the Bearer variants of one key are two stored values, both masked
    assert f"sk_…OpQr#{h8(STRIPE)}" in outputs[0] and f"ghp_…1Ab1#{h8(GITHUB)}" in outputs[0]
    assert f'\\"jwt\\": \\"…sR8U#{h8(JWT)}\\"' in outputs[4]
