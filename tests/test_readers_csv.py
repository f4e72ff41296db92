"""The mapped CSV reader (`costkit.readers.csv_mapped`) and saved mappings
(`costkit.readers.mappings`): columns, constants, times, delimiters, quoting, stable ids,
rejects with their lines."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES

from costkit.core.errors import InputError
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book
from costkit.readers import csv_mapped, mappings
from costkit.readers.lines import Source
from costkit.readers.mappings import CsvMapping, build

CSV = FIXTURES / "logs" / "csv"
EXPORT = CSV / "gateway-export.csv"
AZURE = CSV / "azure-conv-slice.csv"
AZURE_MAP = ["ts=TIMESTAMP", "input_tokens=ContextTokens", "output_tokens=GeneratedTokens"]
EXPORT_MAP = ["billed_cost=Cost (USD)", "tag:team=Team"]


@pytest.fixture(autouse=True)
def isolated_maps(tmp_path, monkeypatch):
    monkeypatch.setenv(mappings.ENV_MAPS, str(tmp_path / "config" / "csv-maps.json"))


def stage(path: Path, mapping: CsvMapping | None = None, **options) -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = csv_mapped.select_sql(con, Source(0, path, str(path)), csv_mapping=mapping,
                                   **options)
        cursor = con.execute(f"SELECT * FROM ({sql}) ORDER BY line")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def write(tmp_path: Path, text: str, name: str = "usage.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def at(rows: list[dict], line: int) -> dict:
    [row] = [r for r in rows if r["line"] == line]
    return row


# --- the semicolon export with quoted fields ----------------------------------------------

def test_export_good_rows():
    rows = stage(EXPORT, build(EXPORT_MAP), tags={"src": "export"})
    assert len(rows) == 13  # every data row is a record: good or rejected
    first = at(rows, 2)
    assert first["request_id"] == "req-csv-001"
    assert first["ts"].isoformat() == "2026-10-05T09:30:00+00:00"
    assert (first["model"], first["project"]) == ("deepseek-v3-2", "search-bot")
    # output includes reasoning (the default): 420 = 120 visible + 300 reasoning
    assert (first["input_tokens"], first["cached_input_tokens"], first["output_tokens"],
            first["reasoning_tokens"], first["search_calls"]) == (1200, 1024, 120, 300, 1)
    assert first["billed_cost"] == Decimal("0.0164022")
    assert json.loads(first["tags"]) == {"src": "export", "team": "growth"}
    assert first["format"] == "csv" and first["reason"] is None


def test_quoted_separator_and_escaped_quotes():
    row = at(stage(EXPORT, build(EXPORT_MAP)), 3)
    assert row["project"] == 'docs; "beta"'
    assert row["reasoning_tokens"] is None and row["output_tokens"] == 200


def test_times_with_zone_fraction_and_unix_seconds():
    rows = stage(EXPORT, build(EXPORT_MAP))
    assert at(rows, 4)["ts"].isoformat() == "2026-10-05T09:00:00+00:00"  # +02:00
    assert at(rows, 5)["ts"].isoformat() == "2026-10-06T18:17:03.979960+00:00"  # 7 digits
    assert at(rows, 6)["ts"].isoformat() == "2026-10-06T09:20:00+00:00"  # unix seconds


def test_naive_times_read_in_tz(tmp_path):
    rows = stage(EXPORT, build(EXPORT_MAP, tz="Europe/Berlin"))
    assert at(rows, 2)["ts"].isoformat() == "2026-10-05T07:30:00+00:00"  # CEST, UTC+2
    assert at(rows, 4)["ts"].isoformat() == "2026-10-05T09:00:00+00:00"  # its own zone wins
    assert at(rows, 6)["ts"].isoformat() == "2026-10-06T09:20:00+00:00"  # unix: no zone
    winter = stage(write(tmp_path, "ts,model,input_tokens,output_tokens\n"
                                   "2026-12-01 12:00:00,m,1,1\n2026-12-01 12:00:00 UTC,m,1,1\n"),
                   build(tz="America/New_York"))
    assert winter[0]["ts"].isoformat() == "2026-12-01T17:00:00+00:00"
    assert winter[1]["ts"].isoformat() == "2026-12-01T12:00:00+00:00"


def test_row_without_request_id_gets_a_hash_of_its_cells(tmp_path):
    rows = stage(EXPORT, build(EXPORT_MAP))
    hashed = at(rows, 4)["request_id"]
    assert hashed.startswith("sha256:") and len(hashed) == 39
    copy = tmp_path / "copy.csv"
    copy.write_bytes(EXPORT.read_bytes())
    assert at(stage(copy, build(EXPORT_MAP)), 4)["request_id"] == hashed
    # the mapping is no part of the identity: another mapping, the same requests
    assert at(stage(copy, build(["tag:team="])), 4)["request_id"] == hashed
    # two identical rows are two requests: which copy it is tells them apart
    same = stage(write(tmp_path, "ts,model,input_tokens,output_tokens\n"
                                 "2026-10-01 00:00:00,m,1,1\n2026-10-01 00:00:00,m,1,1\n"))
    assert same[0]["request_id"] != same[1]["request_id"]


def test_id_less_ids_are_the_sha256_of_the_cells_and_the_copy(tmp_path):
    """The ids a store already holds stay the ids of the same rows: worked out here with
    hashlib, apart from the SQL. Cells joined by U+001F; the first copy is its digest's first
    32 hex digits, copy k the same of sha256(digest + '#k')."""
    import hashlib

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    same, other = "2026-10-01 00:00:00,m,1,1\n", "2026-10-01 00:00:01,m,2,1\n"
    rows = stage(write(tmp_path, "ts,model,input_tokens,output_tokens\n"
                                 + same + other + same + same))
    digest = sha("2026-10-01 00:00:00\x1fm\x1f1\x1f1")
    assert [r["request_id"] for r in rows] == [
        "sha256:" + digest[:32],
        "sha256:" + sha("2026-10-01 00:00:01\x1fm\x1f2\x1f1")[:32],
        "sha256:" + sha(digest + "#2")[:32],
        "sha256:" + sha(digest + "#3")[:32],
    ]


def test_id_less_identity_does_not_depend_on_the_line(tmp_path):
    """An overlapping export (rows 4-9 after rows 0-5) or the same rows re-sorted names
    each request as the first export did; two identical rows stay two."""
    header = "ts,model,input_tokens,output_tokens\n"
    rows = [f"2026-10-01 00:00:0{i},m,{i + 1},1\n" for i in range(9)] + \
        ["2026-10-01 00:00:08,m,9,1\n"]  # a second copy of row 8
    first = stage(write(tmp_path, header + "".join(rows[:6]), "a.csv"))
    second = stage(write(tmp_path, header + "".join(rows[4:]), "b.csv"))
    resorted = stage(write(tmp_path, header + "".join(reversed(rows)), "c.csv"))
    ids = {r["ts"]: r["request_id"] for r in first}
    for r in second:
        if r["ts"] in ids:
            assert r["request_id"] == ids[r["ts"]]
    assert len({r["request_id"] for r in second}) == 6
    assert {r["request_id"] for r in resorted} == \
        {r["request_id"] for r in first} | {r["request_id"] for r in second}


def test_model_constant_fills_empty_cells():
    rows = stage(EXPORT, build(EXPORT_MAP, model="deepseek-v3-2"))
    assert at(rows, 7)["model"] == "deepseek-v3-2" and at(rows, 7)["reason"] is None
    assert at(rows, 2)["model"] == "deepseek-v3-2"


EXPORT_REJECTS = {
    7: "missing model: model (column Model) is empty and no --model was given",
    8: "input_tokens (column Input tokens) is 1,5; token counts must be whole numbers >= 0",
    9: "unparseable time: ts (column Time) is next tuesday; expected unix seconds or ISO 8601, "
       "within 2000..2099",
    10: "row has a different number of fields than the header (11): Expected Number of "
        "Columns: 11 Found: 7",
    11: "reasoning_tokens (column Reasoning tokens) (40) > output_tokens (column Output tokens) "
        "(10), which includes it (--csv-reasoning in-output)",
    12: "billed_cost (column Cost (USD)) is about a dollar; expected a decimal number",
    13: "cached_input_tokens (column Cached input tokens) (200) > input_tokens (column Input "
        "tokens) (100)",
}


@pytest.mark.parametrize("line", sorted(EXPORT_REJECTS))
def test_export_rejects(line):
    row = at(stage(EXPORT, build(EXPORT_MAP)), line)
    assert row["reason"] == EXPORT_REJECTS[line]
    assert row["kind"] == "record"
    assert row["raw"].startswith(EXPORT.read_text().splitlines()[line - 1].split(";")[0])


def test_rows_after_a_malformed_row_keep_their_lines():
    rows = stage(EXPORT, build(EXPORT_MAP))
    assert [r["line"] for r in rows] == list(range(2, 15))
    assert at(rows, 14)["request_id"] == "req-csv-last"


def test_separate_reasoning_keeps_output_whole():
    rows = stage(EXPORT, build(EXPORT_MAP, reasoning="separate"))
    assert (at(rows, 2)["output_tokens"], at(rows, 2)["reasoning_tokens"]) == (420, 300)
    assert at(rows, 11)["reason"] is None  # 40 reasoning on top of 10 visible is fine


# --- the real Azure trace slice ---------------------------------------------------------------

def test_azure_trace_slice():
    rows = stage(AZURE, build(AZURE_MAP, model="deepseek-v3-2"), project="azure-conv")
    assert len(rows) == 300 and all(r["reason"] is None for r in rows)
    first = rows[0]
    assert first["ts"].isoformat() == "2023-11-16T18:15:46.680590+00:00"
    assert (first["input_tokens"], first["output_tokens"], first["reasoning_tokens"]) == (
        374, 44, None)
    assert (first["model"], first["project"], first["line"]) == ("deepseek-v3-2", "azure-conv", 2)
    assert len({r["request_id"] for r in rows}) == 300
    lines = AZURE.read_text().splitlines()[1:]
    assert sum(r["input_tokens"] for r in rows) == sum(int(x.split(",")[1]) for x in lines)
    assert sum(r["output_tokens"] for r in rows) == sum(int(x.split(",")[2]) for x in lines)


def test_case_insensitive_column_names():
    rows = stage(AZURE, build(["ts=timestamp", "input_tokens=contexttokens",
                               "output_tokens=GENERATEDTOKENS"], model="m"))
    assert len(rows) == 300 and rows[0]["input_tokens"] == 374


# --- file-level problems stop the ingest with a clear message ----------------------------

def test_missing_required_columns_name_the_file_and_its_columns():
    with pytest.raises(InputError) as err:
        stage(AZURE, build(model="m"))
    text = str(err.value)
    assert str(AZURE) in text
    assert "no column for input_tokens, output_tokens" in text  # TIMESTAMP is found as ts
    assert "columns: TIMESTAMP, ContextTokens, GeneratedTokens" in text
    with pytest.raises(InputError, match="no column for model; give --model NAME"):
        stage(AZURE, build(AZURE_MAP))


def test_mapped_column_that_is_not_there():
    with pytest.raises(InputError, match=r"--map input_tokens=Prompt: no such column"):
        stage(AZURE, build([*AZURE_MAP, "input_tokens=Prompt"], model="m"))


def test_no_header(tmp_path):
    with pytest.raises(InputError, match="no CSV header"):
        stage(write(tmp_path, ",,\n1,2,3\n"), build(model="m"))


def test_empty_file_and_header_only_read_nothing(tmp_path):
    assert stage(write(tmp_path, "", "empty.csv")) == []
    assert stage(write(tmp_path, "\n\n", "blank.csv")) == []
    assert stage(write(tmp_path, "ts,model,input_tokens,output_tokens\n", "header.csv")) == []


# --- delimiters, quoting, headers ---------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_detected(tmp_path, delimiter):
    header = delimiter.join(["ts", "model", "input_tokens", "output_tokens", "project"])
    row = delimiter.join(["2026-10-01T00:00:00Z", "deepseek-v3-2", "10", "5", '"a, b; c| d"'])
    rows = stage(write(tmp_path, f"{header}\n{row}\n"))
    assert (rows[0]["input_tokens"], rows[0]["project"]) == (10, "a, b; c| d")


def test_delimiter_inside_quoted_header_names(tmp_path):
    text = '"cost, usd";ts;model;input_tokens;output_tokens\n1.5;2026-10-01;m;3;4\n'
    assert csv_mapped.detect_delimiter(text.encode()) == ";"
    rows = stage(write(tmp_path, text), build(["billed_cost=cost, usd"]))
    assert rows[0]["billed_cost"] == Decimal("1.5")


def test_explicit_delimiter(tmp_path):
    text = "ts:model:input_tokens:output_tokens\n1791800000:m:3:4\n"
    rows = stage(write(tmp_path, text), build(delimiter=":"))
    assert (rows[0]["input_tokens"], rows[0]["output_tokens"]) == (3, 4)


def test_header_names_repeated_or_empty():
    assert csv_mapped.read_header(b"a,a,,b\n", ",", "f") == ["a", "a_2", "column3", "b"]
    assert csv_mapped.read_header(b"\xef\xbb\xbfts,x\n", ",", "f") == ["ts", "x"]


def test_bom_crlf_and_multiline_quoted_cell(tmp_path):
    text = ('\ufeffts,model,input_tokens,output_tokens,user\r\n'
            '2026-10-01 00:00:00,m,1,2,"two\r\nlines"\r\n'
            '2026-10-01 00:00:01,m,3,4,plain\r\n')
    rows = stage(write(tmp_path, text))
    assert [(r["input_tokens"], r["user"]) for r in rows] == [(1, "two\r\nlines"), (3, "plain")]
    assert all(r["reason"] is None for r in rows)


def test_gzipped_csv(tmp_path):
    gz = tmp_path / "trace.csv.gz"
    gz.write_bytes(gzip.compress(AZURE.read_bytes()))
    assert csv_mapped.recognises(Source(0, gz, str(gz)))
    rows = stage(gz, build(AZURE_MAP, model="m"))
    assert len(rows) == 300 and rows[0]["input_tokens"] == 374
    # spooled stdin has no extension: gzip is found by its magic bytes
    plain = tmp_path / "stdin"
    plain.write_bytes(gzip.compress(AZURE.read_bytes()))
    assert len(stage(plain, build(AZURE_MAP, model="m"))) == 300


def test_recognition_by_extension(tmp_path):
    for name, expected in [("a.csv", True), ("A.TSV", True), ("b.csv.gz", True),
                           ("c.jsonl", False), ("d.txt", False)]:
        path = tmp_path / name
        path.write_text("x\n")
        assert csv_mapped.recognises(Source(0, path, str(path))) is expected


# --- optional columns -------------------------------------------------------------------------

def test_optional_columns_and_tags(tmp_path):
    text = ("request_id,created_at,model,prompt_tokens,completion_tokens,cache_write_tokens,"
            "api_key,user,endpoint,provider,status,currency,billed_cost,env\n"
            "r1,2026-10-01T00:00:00Z,deepseek-v3-2,100,20,10,sk-proj-abcdefghijklmnop1234,u1,"
            "chat.completions,deepseek,failed,USD,$0.00008,prod\n")
    rows = stage(write(tmp_path, text), build(["tag:env=env"]), project="fallback")
    row = rows[0]
    assert row["reason"] is None
    assert (row["input_tokens"], row["output_tokens"], row["cache_write_tokens"]) == (100, 20, 10)
    assert row["api_key_id"].startswith("sk-…1234#")  # masked, never the secret
    assert (row["user"], row["endpoint"], row["provider"], row["status"]) == (
        "u1", "chat.completions", "deepseek", "failed")
    assert (row["billed_cost"], row["billed_currency"]) == (Decimal("0.00008"), "USD")
    assert row["project"] == "fallback"
    assert json.loads(row["tags"]) == {"env": "prod"}


def test_billed_cost_more_than_12_places_rejected(tmp_path):
    text = "ts,model,input_tokens,output_tokens,billed_cost\n2026-10-01,m,1,1,0.1234567890123\n"
    row = stage(write(tmp_path, text))[0]
    assert row["reason"] == "billed_cost (column billed_cost) 0.1234567890123 has more than 12 " \
                            "decimal places"


def test_empty_counts(tmp_path):
    text = ("ts,model,input_tokens,output_tokens,reasoning_tokens\n"
            "2026-10-01,m,,5,\n2026-10-01,m,4,,\n")
    rows = stage(write(tmp_path, text))
    assert rows[0]["reason"] == "missing input_tokens (column input_tokens)"
    assert rows[1]["reason"] == "missing output_tokens (column output_tokens)"


def test_time_rejects(tmp_path):
    text = "ts,model,input_tokens,output_tokens\n,m,1,1\n1791800000000,m,1,1\n2026-13-01,m,1,1\n"
    rows = stage(write(tmp_path, text))
    assert rows[0]["reason"] == "missing time: ts (column ts) is empty"
    assert rows[1]["reason"].startswith("unparseable time: ts (column ts) is 1791800000000;")
    assert rows[2]["reason"].startswith("unparseable time: ts (column ts) is 2026-13-01;")


# --- mappings: parsing, saving, reusing -----------------------------------------------------

def test_parse_items_errors():
    with pytest.raises(InputError, match="expected FIELD=COLUMN"):
        mappings.parse_items(["ts"])
    with pytest.raises(InputError, match="unknown field 'tokens'"):
        mappings.parse_items(["tokens=X"])
    with pytest.raises(InputError, match="a tag needs a name"):
        mappings.parse_items(["tag:=X"])
    assert mappings.parse_items(["ts = Time ", "tag:team=Team"]) == {"ts": "Time",
                                                                     "tag:team": "Team"}


def test_build_checks_options():
    with pytest.raises(InputError, match="unknown time zone"):
        build(tz="Mars/Olympus")
    with pytest.raises(InputError, match="expected one character"):
        build(delimiter=";;")
    with pytest.raises(InputError, match="--csv-reasoning"):
        build(reasoning="both")
    assert build(delimiter="tab").delimiter == "\t"
    assert build(tz="utc").tz == "UTC"


def test_save_and_reuse_a_mapping(tmp_path):
    saved = build(AZURE_MAP, model="deepseek-v3-2", tz="UTC")
    path = mappings.save("azure", saved)
    assert path == tmp_path / "config" / "csv-maps.json"
    assert mappings.load("azure") == saved
    reused = build(name="azure")
    assert len(stage(AZURE, reused)) == 300
    # options given with --map-name override the saved ones
    overridden = build(["output_tokens=ContextTokens"], name="azure", model="other")
    assert overridden.columns["output_tokens"] == "ContextTokens"
    assert overridden.columns["ts"] == "TIMESTAMP" and overridden.model == "other"
    mappings.save("second", CsvMapping(columns={"ts": "t"}))
    assert sorted(mappings.saved()) == ["azure", "second"]
    assert mappings.load("azure") == saved  # saving another kept it


def test_unknown_saved_mapping_lists_the_known_ones():
    with pytest.raises(InputError, match="none saved yet"):
        build(name="nope")
    mappings.save("azure", build(AZURE_MAP))
    with pytest.raises(InputError, match="known: azure"):
        build(name="nope")


def test_bad_mapping_names_and_files(tmp_path):
    with pytest.raises(InputError, match="--save-map"):
        mappings.save("../etc", build())
    path = mappings.maps_path()
    path.parent.mkdir(parents=True)
    path.write_text("[1]")
    with pytest.raises(InputError, match="not a costkit CSV mappings file"):
        mappings.saved()
    path.write_text('{"maps": {"x": {"columns": {"nope": "a"}}}}')
    with pytest.raises(InputError, match="mapping 'x': --map 'nope=a': unknown field"):
        mappings.load("x")


# --- through costkit ingest and the CLI -------------------------------------------------------

def store(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


AZURE_ARGS = ["--map", "ts=TIMESTAMP", "--map", "input_tokens=ContextTokens",
              "--map", "output_tokens=GeneratedTokens", "--model", "deepseek-v3-2"]


def test_cli_azure_slice_save_map_and_reuse(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(AZURE), *AZURE_ARGS, "--project", "azure-conv",
                 "--save-map", "azure", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["  300  inserted", "    0  duplicates",
                                              "    0  rejected"]
    assert "saved the CSV mapping as 'azure'" in result.stderr
    assert mappings.load("azure").columns == {"ts": "TIMESTAMP",
                                              "input_tokens": "ContextTokens",
                                              "output_tokens": "GeneratedTokens"}
    copy = tmp_path / "copy.csv"
    copy.write_bytes(AZURE.read_bytes())
    again = cli("ingest", str(copy), "--map-name", "azure", "--db", str(db), "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert {k: json.loads(again.stdout)[k] for k in ("read", "inserted", "duplicates")} == {
        "read": 300, "inserted": 0, "duplicates": 300}
    report = cli("report", "--by", "project", "--db", str(db), "--format", "json")
    [row] = json.loads(report.stdout)
    lines = AZURE.read_text().splitlines()[1:]
    assert row["project"] == "azure-conv" and row["requests"] == 300
    assert row["input_tokens"] == sum(int(x.split(",")[1]) for x in lines)
    inputs = Decimal(row["input_tokens"]) * Decimal("0.57") / 1_000_000
    outputs = Decimal(row["output_tokens"]) * Decimal("1.71") / 1_000_000
    assert Decimal(row["total_cost"]) == inputs + outputs


def test_cli_export_rejects_listed_with_lines(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(EXPORT), "--map", "billed_cost=Cost (USD)", "--map",
                 "tag:team=Team", "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (13, 6, 7)
    assert "7 records rejected" in result.stderr
    rejects = cli("rejects", "--db", str(db), "--format", "json", "--limit", "0")
    got = {(r["line"], r["reason"]) for r in json.loads(rejects.stdout)}
    assert got == set(EXPORT_REJECTS.items())
    assert store(db, "SELECT billed_cost, tags->>'team' FROM usage "
                     "WHERE request_id = 'req-csv-001'") == [(Decimal("0.0164022"), "growth")]


def test_cli_missing_column_is_one_line_and_writes_nothing(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(AZURE), "--model", "m", "--db", str(db))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("costkit: error: ")
    assert "no column for input_tokens, output_tokens" in result.stderr
    assert store(db, "SELECT count(*) FROM usage") == [(0,)]


def test_cli_option_errors(cli):
    bad_field = cli("ingest", str(AZURE), "--map", "tokens=X")
    assert bad_field.exit_code == 2 and "unknown field 'tokens'" in bad_field.stderr
    bad_tz = cli("ingest", str(AZURE), *AZURE_ARGS, "--tz", "Nowhere/City")
    assert bad_tz.exit_code == 2 and "unknown time zone" in bad_tz.stderr
    unknown = cli("ingest", str(AZURE), "--map-name", "never-saved")
    assert unknown.exit_code == 2 and "no saved CSV mapping" in unknown.stderr
    assert not mappings.maps_path().exists()


def test_cli_tz_delimiter_and_forced_csv(cli, tmp_path):
    path = tmp_path / "usage.txt"  # no .csv: --input-format csv says what it is
    path.write_text("when|what|in|out\n2026-10-05 09:30:00|deepseek-v3-2|10|5\n")
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(path), "--input-format", "csv", "--delimiter", "|",
                 "--map", "ts=when", "--map", "model=what", "--map", "input_tokens=in",
                 "--map", "output_tokens=out", "--tz", "Asia/Tokyo", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    [(ts,)] = store(db, "SELECT strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM usage")
    assert ts == "2026-10-05 00:30"


def test_cli_csv_from_stdin(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", "-", "--input-format", "csv", *AZURE_ARGS, "--db", str(db),
                 "--format", "json", input=AZURE.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 300


def test_ledger_csv_and_json_logs_in_one_run(tmp_path):
    db = tmp_path / "s.duckdb"
    ledger_page = FIXTURES / "logs" / "ledger" / "page-discount.json"
    s = ingest([AZURE, ledger_page, FIXTURES / "logs" / "otel" / "export.json"], db=db,
               prices=load_price_book([]),
               csv_mapping=build(AZURE_MAP, model="deepseek-v3-2"))
    assert s.read == s.inserted + s.duplicates + s.rejected
    assert store(db, "SELECT source_format, count(*) FROM usage GROUP BY 1 ORDER BY 1") == [
        ("csv", 300), ("ledger", 4), ("otel", 6)]
