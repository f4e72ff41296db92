"""The direct path of a mapped CSV (`costkit.readers.csv_direct`): a file whose rows are all
good goes straight into `usage`, with the rows the staging path (`csv_mapped.select_sql`,
the reference) makes of it; any other file is left to the staging path, with nothing of it
in `usage`."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from costkit.core.errors import InputError
from costkit.ingest.run import _Run, ingest
from costkit.pricing.book import load_price_book
from costkit.readers import csv_direct, csv_mapped, mappings
from costkit.readers.lines import Source
from costkit.readers.mappings import CsvMapping, build
from costkit.store.connection import open_store

HEADER = "request_id,ts,model,input_tokens,output_tokens,project,cost\n"
MAP = build(["billed_cost=cost", "tag:team=project"], tz="Europe/Paris")
# Quoted cells (one holds the delimiter, one a doubled quote), rows with and without an id,
# an empty optional count, a naive time read in --tz, a unix time, a billed cost.
CLEAN = (HEADER
         + 'r-1,2026-10-01 10:00:00,m,100,7,"growth, EU",0.5\n'
         + ',2026-10-01 10:00:01,m,3,1,"say ""hi""",\n'
         + ",1790000000,m2,0,0,,1e-3\n"
         + "r-4,2026-10-02T08:00:00Z,m,5,5,ops,\n")


@pytest.fixture(autouse=True)
def isolated_maps(tmp_path, monkeypatch):
    monkeypatch.setenv(mappings.ENV_MAPS, str(tmp_path / "config" / "csv-maps.json"))


def write(tmp_path: Path, text: str, name: str = "usage.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def staged(path: Path, mapping: CsvMapping) -> list[tuple]:
    """The good rows the staging path makes of `path` (the reference), in line order."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = csv_mapped.select_sql(con, Source(0, path, str(path)), csv_mapping=mapping)
        return con.execute(f"""
            SELECT line, request_id, ts, model, input_tokens, output_tokens, project,
                   tags::VARCHAR, billed_cost
            FROM ({sql}) WHERE reason IS NULL ORDER BY line""").fetchall()
    finally:
        con.close()


def staged_rejects(path: Path, mapping: CsvMapping) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = csv_mapped.select_sql(con, Source(0, path, str(path)), csv_mapping=mapping)
        return con.execute(f"SELECT line, reason, raw FROM ({sql}) WHERE reason IS NOT NULL "
                           "ORDER BY line").fetchall()
    finally:
        con.close()


def stored_rejects(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT line, reason, raw FROM rejects ORDER BY line").fetchall()
    finally:
        con.close()


def stored(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("""
            SELECT source_line, request_id, ts, model, input_tokens, output_tokens, project,
                   tags::VARCHAR, billed_cost
            FROM usage ORDER BY source_line""").fetchall()
    finally:
        con.close()


def direct(tmp_path: Path, path: Path, mapping: CsvMapping = MAP) -> tuple:
    """What `insert_direct` does with `path` in a real store: (rows it inserted, whether it
    left rows to stage; or None when it leaves the whole file to the staging path), and the
    rows of the file then in `usage`."""
    con = open_store(tmp_path / "direct.duckdb")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TEMP TABLE files (file_id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO files VALUES (0, ?)", [str(path)])
        run = _Run(inputs=[str(path)], forced=None, project=None, tags={},
                   book=load_price_book(None), progress=None, ingest_id=1)
        answer = csv_direct.insert_direct(con, Source(0, path, str(path)), 1, run._into_usage,
                                          csv_mapping=mapping)
        left = con.execute("SELECT count(*) FROM usage WHERE source_file = ?",
                           [str(path)]).fetchall()[0][0]
        con.execute("ROLLBACK")
        return (None if answer is None else (answer[0], answer[1] is not None)), left
    finally:
        con.close()


# --- line_count ----------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "lines"), [
    (b"", 0),
    (b"a\n", 1),
    (b"a\nb", 2),                    # a last line without a line end counts
    (b"a\r\nb\r\n\r\n", 3),          # the blank third line counts
    (b"a\rb\n", None),               # a lone CR: DuckDB may end a row there
    (b"a\nb\r", None),
])
def test_line_count(tmp_path, data, lines):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert csv_direct.line_count(Source(0, path, str(path))) == lines
    packed = tmp_path / "f.csv.gz"
    packed.write_bytes(gzip.compress(data))
    assert csv_direct.line_count(Source(0, packed, str(packed))) == lines


def test_line_count_sees_a_crlf_split_between_two_reads(tmp_path):
    """The file is read 8 MiB at a time: a CR at the end of one read and its LF at the start
    of the next are one line end, not a lone CR."""
    path = tmp_path / "f.csv"
    first = b"x" * ((1 << 23) - 1) + b"\r"  # exactly one read, ending in CR
    path.write_bytes(first + b"\nb\r\n")
    assert csv_direct.line_count(Source(0, path, str(path))) == 2


# --- which files go direct -----------------------------------------------------------------

def test_a_clean_file_goes_direct_with_the_staging_paths_rows(tmp_path):
    path = write(tmp_path, CLEAN)
    assert direct(tmp_path, path) == ((4, False), 4)
    db = tmp_path / "store.duckdb"
    summary = ingest([path], db=db, csv_mapping=MAP)
    assert (summary.read, summary.inserted, summary.rejected) == (4, 4, 0)
    rows = stored(db)
    assert rows == staged(path, MAP)
    # lines 2..5 hand-counted: the header is line 1, one row per line
    assert [r[0] for r in rows] == [2, 3, 4, 5]


def test_a_clean_gzip_file_goes_direct(tmp_path):
    path = tmp_path / "usage.csv.gz"
    path.write_bytes(gzip.compress(CLEAN.encode()))
    assert direct(tmp_path, path) == ((4, False), 4)


def test_a_header_only_file_goes_direct_with_no_rows(tmp_path):
    assert direct(tmp_path, write(tmp_path, HEADER)) == ((0, False), 0)
    assert direct(tmp_path, write(tmp_path, HEADER.rstrip("\n"), "b.csv")) == ((0, False), 0)


def test_rows_a_check_rejects_are_staged_and_the_good_rows_go_direct(tmp_path):
    """Rows DuckDB split one per line, some of which a check rejects: the good rows keep
    their lines (each row's number + 1), and only the rejects are staged, with the reasons
    and lines the staging path gives them."""
    bad = (",2026-10-01 10:00:09,m,-1,1,,\n"    # line 6: a negative count
           + ",1e12,m,1,1,,\n"                  # line 7: milliseconds taken for seconds
           + ",2026-10-01 10:00:10,m,1,1,,\n")  # line 8: good
    path = write(tmp_path, CLEAN + bad)
    assert direct(tmp_path, path) == ((5, True), 5)
    db = tmp_path / "store.duckdb"
    summary = ingest([path], db=db, csv_mapping=MAP)
    assert (summary.read, summary.inserted, summary.rejected) == (7, 5, 2)
    assert stored(db) == staged(path, MAP)
    assert [line for line, *_ in stored(db)] == [2, 3, 4, 5, 8]
    assert [line for line, _, _ in stored_rejects(db)] == [6, 7]
    assert stored_rejects(db) == staged_rejects(path, MAP)


@pytest.mark.parametrize("tail", [
    ",2026-10-01 10:00:09,m,1,1,,,extra\n",            # DuckDB cannot split it
    "\n",                                              # a blank line shifts no row number
    ',2026-10-01 10:00:09,m,1,1,"two\nlines",\n',      # a row spans two lines
    ",2026-10-01 10:00:01,m,3,1,\"say \"\"hi\"\"\",\n",  # a copy of line 3: copies numbered
])
def test_any_other_file_is_left_to_the_staging_path(tmp_path, tail):
    path = write(tmp_path, CLEAN + tail)
    assert direct(tmp_path, path) == (None, 0)
    # and the ingest then is the staging path's: every good row at its line, every reject
    db = tmp_path / "store.duckdb"
    ingest([path], db=db, csv_mapping=MAP)
    assert stored(db) == staged(path, MAP)
    assert stored_rejects(db) == staged_rejects(path, MAP)


def test_given_ids_that_repeat_go_direct_and_are_deduped_after(tmp_path):
    """A repeated provider id is a duplicate (or a conflict) as on every path; only repeated
    hashed ids need the staging path's copy numbers."""
    path = write(tmp_path, CLEAN + "r-4,2026-10-02T08:00:00Z,m,5,5,ops,\n")
    assert direct(tmp_path, path) == ((5, False), 5)
    summary = ingest([path], db=tmp_path / "store.duckdb", csv_mapping=MAP)
    assert (summary.read, summary.inserted, summary.duplicates) == (5, 4, 1)


def test_ingesting_a_clean_file_again_adds_nothing(tmp_path):
    db = tmp_path / "store.duckdb"
    path = write(tmp_path, CLEAN)
    ingest([path], db=db, csv_mapping=MAP)
    again = ingest([path], db=db, csv_mapping=MAP)
    assert (again.read, again.inserted, again.duplicates) == (4, 0, 4)


def test_a_lone_cr_in_a_cell_is_left_to_the_staging_path_which_stops_cleanly(tmp_path):
    """DuckDB's CSV parser refuses a lone CR in an unquoted cell (a file error, not a row's):
    the direct path does not try it, and the staging path stops the ingest with the one-line
    InputError naming the file (it used to be hidden behind a TransactionException)."""
    path = write(tmp_path, CLEAN + ",2026-10-01 10:00:09,m,1,1,a\rb,\n")
    assert direct(tmp_path, path) == (None, 0)
    with pytest.raises(InputError, match=f"{path}: cannot read as CSV"):
        ingest([path], db=tmp_path / "store.duckdb", csv_mapping=MAP)
