"""Opening the store (issue 13): read commands go through `store.open_store(read_only=True)`,
which never creates a store and refuses, in one line with exit 2, whatever at the path is not
a whole costkit store; the environment settings the store reads are checked the same way."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES, ROOT

from costkit.core.errors import InputError, NoStoreError, StoreError
from costkit.ingest.run import ingest
from costkit.store.connection import lock_wait, memory_limit, open_store

LOGS = FIXTURES / "logs"
INVOICE = FIXTURES / "audit" / "invoice-clean.csv"
BATCH = FIXTURES / "estimate" / "batch.jsonl"


def missing_message(path: Path) -> str:
    return (f"costkit: error: no store at {path}; check --db and $COSTKIT_DB, or create it with "
            "`costkit ingest LOGS`\n")


def read_commands(out: Path) -> dict[str, list[str]]:
    """Every command that reads the store, with the arguments it needs to get that far."""
    return {
        "report": ["report"],
        "report monthly": ["report", "monthly", "--month", "2026-10", "--out", str(out)],
        "rejects": ["rejects"],
        "forecast": ["forecast", "--as-of", "2026-11-01"],
        "audit": ["audit", str(INVOICE)],
        "estimate": ["estimate", "Write a haiku."],
        "estimate --batch": ["estimate", "--batch", str(BATCH)],
    }


@pytest.fixture(scope="module")
def whole_store(tmp_path_factory) -> Path:
    """A real store written by an ingest (closed, so checkpointed: no write-ahead log)."""
    path = tmp_path_factory.mktemp("whole") / "store.duckdb"
    summary = ingest([LOGS / "chat"], db=path, prices=[])
    assert summary.inserted > 0
    assert not Path(f"{path}.wal").exists()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- a --db that does not exist -------------------------------------------------------------

@pytest.mark.parametrize("command", list(read_commands(Path("out"))))
def test_every_read_command_refuses_a_missing_store_and_creates_nothing(cli, tmp_path, command):
    missing = tmp_path / "typo" / "store.duckdb"
    args = read_commands(tmp_path / "out")[command]
    result = cli(*args, "--db", str(missing))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == missing_message(missing)
    assert not missing.parent.exists()  # neither the file nor its folder
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["report", "rejects", "forecast"])
def test_the_default_store_is_refused_the_same_way(cli, tmp_path, monkeypatch, command):
    default = tmp_path / "data" / "costkit.duckdb"
    monkeypatch.setenv("COSTKIT_DB", str(default))
    result = cli(*read_commands(tmp_path / "out")[command])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == missing_message(default)
    assert not default.parent.exists()


def test_estimate_without_db_uses_the_defaults_when_no_store_exists_yet(cli, tmp_path,
                                                                       monkeypatch):
    """History is optional for an estimate: only a store the user names must exist."""
    default = tmp_path / "data" / "costkit.duckdb"
    monkeypatch.setenv("COSTKIT_DB", str(default))
    result = cli("estimate", "Write a haiku.", "--format", "json")
    assert result.exit_code == 0
    assert "costkit's defaults (no usage history" in result.stdout
    assert not default.parent.exists()
    # --no-history never opens the store, so a missing --db is no concern of it
    result = cli("estimate", "Write a haiku.", "--no-history", "--db", str(default))
    assert result.exit_code == 0


def test_ingest_and_demo_are_the_commands_that_create_a_store(cli, tmp_path):
    made = tmp_path / "new" / "store.duckdb"
    result = cli("ingest", str(LOGS / "chat"), "--db", str(made), "--format", "json")
    assert result.exit_code == 0
    assert made.exists()
    assert cli("report", "--db", str(made), "--format", "json").exit_code == 0


def test_a_missing_store_from_a_real_process(tmp_path):
    """End to end: the installed entry point prints one line, no traceback."""
    missing = tmp_path / "none.duckdb"
    done = subprocess.run([sys.executable, "-m", "costkit", "report", "--db", str(missing)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == missing_message(missing)
    assert not missing.exists()


# --- a --db that is not a costkit store -----------------------------------------------------

def not_duckdb(path: Path) -> str:
    path.write_text("request_id,ts\nr1,2026-10-01\n", encoding="utf-8")
    return f"costkit: error: no store at {path}: the file is not a DuckDB database\n"


def zero_bytes(path: Path) -> str:
    path.write_bytes(b"")
    return f"costkit: error: no store at {path}: the file is not a DuckDB database\n"


def a_directory(path: Path) -> str:
    path.mkdir()
    return f"costkit: error: no store at {path}: it is a directory; --db names the store file\n"


def someone_elses(path: Path) -> str:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE usage (x INTEGER)")  # a clash with costkit's table name, too
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    return (f"costkit: error: no store at {path}: a DuckDB database without costkit's tables "
            "(it holds orders, usage); costkit does not read or write it\n")


def empty_duckdb(path: Path) -> str:
    duckdb.connect(str(path)).close()
    return (f"costkit: error: no store at {path}: an empty DuckDB database; `costkit ingest "
            "LOGS` fills it\n")


KINDS = {"not DuckDB": not_duckdb, "zero bytes": zero_bytes, "a directory": a_directory,
         "another DuckDB database": someone_elses, "an empty DuckDB database": empty_duckdb}


@pytest.mark.parametrize("command", ["report", "report monthly", "rejects", "forecast", "audit",
                                     "estimate"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_file_that_is_not_a_store_is_refused_unchanged(cli, tmp_path, kind, command):
    path = tmp_path / "store.duckdb"
    message = KINDS[kind](path)
    before = digest(path) if path.is_file() else None
    result = cli(*read_commands(tmp_path / "out")[command], "--db", str(path))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    assert (digest(path) if path.is_file() else None) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb"]


def test_ingest_never_writes_into_another_duckdb_database(cli, tmp_path):
    path = tmp_path / "theirs.duckdb"
    message = someone_elses(path)
    before = digest(path)
    result = cli("ingest", str(LOGS / "chat"), "--db", str(path))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    assert digest(path) == before


def test_ingest_into_a_file_that_is_not_duckdb_is_one_line(cli, tmp_path):
    path = tmp_path / "notes.duckdb"
    message = not_duckdb(path)
    result = cli("ingest", str(LOGS / "chat"), "--db", str(path))
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_an_empty_duckdb_file_becomes_a_store_when_ingested_into(cli, tmp_path):
    path = tmp_path / "fresh.duckdb"
    empty_duckdb(path)
    assert cli("ingest", str(LOGS / "chat"), "--db", str(path)).exit_code == 0
    assert cli("report", "--db", str(path), "--format", "json").exit_code == 0


# --- a truncated or damaged store ----------------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.99])
@pytest.mark.parametrize("command", ["report", "forecast", "audit", "ingest"])
def test_a_truncated_store_is_named_with_both_sizes(cli, tmp_path, whole_store, keep, command):
    whole = whole_store.stat().st_size
    cut = tmp_path / "cut.duckdb"
    size = int(whole * keep)
    cut.write_bytes(whole_store.read_bytes()[:size])
    args = ["ingest", str(LOGS / "chat")] if command == "ingest" else \
        read_commands(tmp_path / "out")[command]
    result = cli(*args, "--db", str(cut))
    assert result.exit_code == 2
    assert result.stdout == ""
    # one ingest leaves no free block, so the whole file's size is what its blocks in use
    # need: a cut copy lacks the difference
    assert result.stderr == (
        f"costkit: error: {cut}: the store is truncated: the file has {size:,} bytes, the "
        f"blocks in use need {whole:,}; restore it from a copy, or ingest the logs again into a "
        "new store\n")
    assert cut.stat().st_size == size


def test_a_store_cut_inside_its_header_is_one_line(cli, tmp_path, whole_store):
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(whole_store.read_bytes()[:100])
    result = cli("report", "--db", str(cut))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"costkit: error: {cut}: cannot open the store (a damaged "
                                    "or truncated file?): ")
    assert result.stderr.count("\n") == 1


def test_damage_found_only_by_a_query_is_one_line(cli, tmp_path, whole_store):
    """Beside a write-ahead log the size check steps aside (the file may lag the log); the
    missing block is then met by a query, and that DuckDB error is still one line."""
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(whole_store.read_bytes()[: whole_store.stat().st_size // 2])
    Path(f"{cut}.wal").write_bytes(b"")
    result = cli("report", "--db", str(cut))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("costkit: error: cannot read or write the store: IO Error: ")
    assert str(cut) in result.stderr
    assert result.stderr.endswith("(a damaged or truncated store file, or a full disk?)\n")
    assert result.stderr.count("\n") == 1


def test_free_blocks_cut_from_the_end_are_not_a_truncation(tmp_path):
    """DuckDB shortens the file when its last blocks are free: only blocks in use count."""
    path = tmp_path / "s.duckdb"
    shortened = 0
    for _ in range(6):  # each ingest rewrites some blocks and frees others
        ingest([LOGS / "chat"], db=path, prices=[])
        con = duckdb.connect(str(path), read_only=True)
        size, total = con.execute("SELECT block_size, total_blocks FROM pragma_database_size()"
                                  ).fetchone()
        con.close()
        if path.stat().st_size < 3 * 4096 + total * size:  # shorter than all its blocks
            shortened += 1
            open_store(path, read_only=True).close()
            open_store(path).close()
    assert shortened  # the case was met


def test_a_whole_store_passes_the_size_check(whole_store, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(whole_store, copy)
    con = open_store(copy, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM usage").fetchone()[0] > 0
    finally:
        con.close()


# --- the environment the store reads ---------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", "30s", "1e400"])
def test_a_bad_lock_wait_is_one_line(cli, tmp_path, monkeypatch, whole_store, value):
    monkeypatch.setenv("COSTKIT_LOCK_WAIT", value)
    for args in (["report", "--db", str(whole_store)],
                 ["ingest", str(LOGS / "chat"), "--db", str(tmp_path / "new.duckdb")]):
        result = cli(*args)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (f"costkit: error: $COSTKIT_LOCK_WAIT is {value!r}; expected the "
                                 "seconds to wait for a busy store, a number >= 0 such as 30\n")
    assert not (tmp_path / "new.duckdb").exists()


@pytest.mark.parametrize("value, seconds", [("0", 0.0), ("0.3", 0.3), (" 12 ", 12.0),
                                            ("", 30.0)])
def test_lock_wait_values(monkeypatch, value, seconds):
    monkeypatch.setenv("COSTKIT_LOCK_WAIT", value)
    assert lock_wait() == seconds


@pytest.mark.parametrize("value", ["lots", "80%", "500", "1 GB of it", "GB", "-1GB"])
def test_a_bad_memory_limit_is_one_line_before_the_store_is_made(cli, tmp_path, monkeypatch,
                                                                 value):
    monkeypatch.setenv("COSTKIT_MEMORY_LIMIT", value)
    made = tmp_path / "new.duckdb"
    result = cli("ingest", str(LOGS / "chat"), "--db", str(made))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"costkit: error: $COSTKIT_MEMORY_LIMIT is {value!r}; expected a "
                             "size such as 512MB, 1GB or 2GiB (units KB, MB, GB, TB, KiB, MiB, "
                             "GiB, TiB)\n")
    assert not made.exists()


@pytest.mark.parametrize("value, kept", [("512MB", "512MB"), (" 2GiB ", "2GiB"),
                                         ("1.5gb", "1.5gb"), ("", "1GB")])
def test_memory_limit_values(monkeypatch, value, kept):
    monkeypatch.setenv("COSTKIT_MEMORY_LIMIT", value)
    assert memory_limit() == kept


def test_a_good_memory_limit_is_applied(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTKIT_MEMORY_LIMIT", "256MiB")
    result = cli("ingest", str(LOGS / "chat"), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 0


def test_running_out_of_memory_is_one_line(cli, tmp_path, monkeypatch):
    """A limit DuckDB cannot work in (a valid size, too small) ends in one line naming it."""
    monkeypatch.setenv("COSTKIT_MEMORY_LIMIT", "1KB")
    result = cli("ingest", str(LOGS / "chat"), "--db", str(tmp_path / "s.duckdb"))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("costkit: error: DuckDB ran out of memory: ")
    assert result.stderr.endswith("; raise $COSTKIT_MEMORY_LIMIT (now 1KB) or free memory\n")
    assert result.stderr.count("\n") == 1


# --- the library's view --------------------------------------------------------------------

def test_open_store_errors_are_costkit_errors(tmp_path, whole_store):
    with pytest.raises(NoStoreError):
        open_store(tmp_path / "missing.duckdb", read_only=True)
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(whole_store.read_bytes()[: whole_store.stat().st_size // 2])
    with pytest.raises(StoreError, match="the store is truncated") as raised:
        open_store(cut, read_only=True)
    assert not isinstance(raised.value, NoStoreError)  # damaged, not absent
    assert issubclass(NoStoreError, StoreError) and not issubclass(InputError, StoreError)
