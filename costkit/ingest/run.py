"""Drives readers into the store: staging, stream stitching, atomicity and progress. The
run's other parts live beside it: the summary (`summary`), dedupe and conflicts (`dedupe`),
rejects (`rejects`).

One ingest run is one transaction (see `_Run` for its two paths). Every line goes through
the readers' single SQL statement; good records go straight into `usage`; files with
anything else are read again into a TEMP staging table, where streams are stitched and
rejects kept (whole-file readers stage their rows there too; session logs a batch of files
at a time, each batch's streams stitched before it joins the stage); then duplicates are
removed (on `request_id`, within the run and against the store), rejects go to `rejects`,
the run's counts to `ingests`, and the transaction commits. A process killed before the
commit leaves the store exactly as it was, so re-running gives the same totals as one clean
run. Nothing runs per record in Python.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from costkit.core.errors import InputError
from costkit.core.sql import quote
from costkit.ingest.dedupe import settle_repeats
from costkit.ingest.rejects import write_rejects
from costkit.ingest.summary import IngestSummary, unpriced_models
from costkit.pricing.book import PriceBook, load_price_book
from costkit.readers import (
    DOCUMENT_READERS,
    FORMATS,
    LINE_SQL_READERS,
    MANY_FILE_READERS,
    document_reader,
    resolve_format,
)
from costkit.readers.csv_direct import insert_direct
from costkit.readers.csv_mapped import NAME as CSV
from costkit.readers.documents import BILLED_COLUMNS, REQUEST_COUNT
from costkit.readers.lines import (
    Expanded,
    LineCounts,
    Progress,
    Source,
    expand,
    reader,
    spool_stdin,
)
from costkit.readers.mappings import CsvMapping
from costkit.readers.records import MALFORMED, STAGE_COLUMNS, records_sql
from costkit.store.connection import memory_limit, open_store

SMALL_INPUT = 4 << 20  # bytes
# Session files (MANY_FILE_READERS) per statement: few statements for a folder of thousands,
# while the lines and parts in flight stay well inside DuckDB's memory limit.
BATCH_BYTES = 128 << 20

USAGE_COLUMNS = (
    "request_id", "ts", "provider", "endpoint", "model", "input_tokens",
    "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "search_calls", "project", "api_key_id", "user", "tags", "status",
    *BILLED_COLUMNS, *REQUEST_COUNT,
)
# The staging row: the line readers' columns, what whole-file readers say was billed, and
# how many requests an aggregate row stands for.
STAGE = {**STAGE_COLUMNS, **BILLED_COLUMNS, **REQUEST_COUNT}

# Whole-file readers with a direct path: (con, source, ingest_id, into_usage, project, tags,
# **options) -> (rows inserted straight into `usage`, a SELECT of staging rows still to stage
# or None), or None to stage the whole file as usual.
DIRECT = {CSV: insert_direct}

NO_USAGE = {
    "chat-stream": "stream ended without a usage chunk (the request did not set "
                   "stream_options.include_usage, or the stream was interrupted); "
                   "not counted as $0",
    "responses": "stream ended without a response carrying usage (no response.completed "
                 "event: interrupted?); not counted as $0",
}
NO_USAGE_DEFAULT = "stream ended without usage; not counted as $0"


def parse_tags(items: Sequence[str]) -> dict[str, str]:
    """`k=v` strings (from --tag) as a dict; InputError names the bad one."""
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--tag {item!r}: expected NAME=VALUE, e.g. --tag team=growth")
        tags[key.strip()] = value.strip()
    return tags


def ingest(
    inputs: Sequence[str | Path],
    db: Path | str | None = None,
    prices: PriceBook | Sequence[str | Path] | None = None,
    input_format: str | None = None,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    progress: Progress | None = None,
    ledger_reasoning: str | None = None,
    csv_mapping: CsvMapping | None = None,
) -> IngestSummary:
    """Ingest usage logs (files, directories, .gz, "-" for stdin) into the store, atomically.

    Bad records never stop the run: they go to `rejects`. An unreadable input (missing file,
    corrupt .gz) stops it with InputError and leaves the store unchanged.
    `ledger_reasoning` and `csv_mapping` are for gateway ledgers and CSV files (see
    `costkit.readers.ledger` and `costkit.readers.mappings`).
    """
    started = time.monotonic()
    run = _Run(
        inputs=[str(i) for i in inputs],
        forced=resolve_format(input_format),
        project=project,
        tags=tags or {},
        book=prices if isinstance(prices, PriceBook) else load_price_book(prices),
        progress=progress,
        reader_options={k: v for k, v in (("ledger_reasoning", ledger_reasoning),
                                          ("csv_mapping", csv_mapping)) if v is not None},
    )
    limit = memory_limit()  # a bad $COSTKIT_MEMORY_LIMIT stops before the store is touched
    seen = Expanded()
    sources = expand(inputs, seen)
    if not sources and not seen.unread:
        raise InputError(f"{', '.join(str(i) for i in inputs)}: no files to read")
    with tempfile.TemporaryDirectory(prefix="costkit-ingest-") as spool:
        sources = spool_stdin(sources, Path(spool))
        con = open_store(db)
        try:
            _configure(con, sum(s.size for s in sources), limit)
            summary = run.execute(con, sources)
            summary.repeated_paths, summary.unread = seen.repeated, seen.unread
            summary.unpriced = unpriced_models(con, run.book, summary.ingest_id)
        finally:
            con.close()
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _configure(con: duckdb.DuckDBPyConnection, input_bytes: int, limit: str) -> None:
    con.execute("SET TimeZone = 'UTC'")  # naive ISO times in logs are UTC
    if input_bytes < SMALL_INPUT:
        # Each thread sets up the readers' (large) expressions; for a few records one
        # thread is faster than two.
        con.execute("SET threads = 1")
    # DuckDB's own memory cap; beyond it, staging spills to disk. Python and the Arrow
    # batches in flight come on top (a few chunks of lines.CHUNK bytes).
    con.execute(f"SET memory_limit = '{limit}'")
    # Order is carried by (file, line) columns, so DuckDB may reorder freely (less memory).
    con.execute("SET preserve_insertion_order = false")


@dataclass
class _Run:
    """One ingest's options, and the two paths its records take.

    Fast path: every line of every line-oriented file goes through the readers' SQL, and
    the good records go straight into `usage` (one pass, no staging). A file in which every
    non-blank line was such a record is done. Any other file (a reject, a stream, an SSE
    control line) is read again on the staging path, which keeps only what the fast path
    did not take: rejects, stream parts (stitched into records) and skipped lines.
    Duplicates are removed at the end, before the commit.
    """

    inputs: list[str]
    forced: str | None
    project: str | None
    tags: dict[str, str]
    book: PriceBook
    progress: Progress | None
    counts: LineCounts = field(default_factory=LineCounts)
    optimistic: bool = True
    ingest_id: int | None = None
    reader_options: dict = field(default_factory=dict)  # for whole-file readers, when given

    def execute(self, con, sources: list[Source]) -> IngestSummary:
        """The whole run in one transaction. The first try parses object-looking lines
        without TRY (cheaper); if one of them is malformed after all, DuckDB fails the
        statement, and the run starts over with every parse guarded."""
        for optimistic in (True, False):
            self.optimistic = optimistic
            con.execute("BEGIN TRANSACTION")
            try:
                summary = self._execute(con, sources)
                con.execute("COMMIT")
                return summary
            except duckdb.InvalidInputException as exc:
                con.execute("ROLLBACK")
                if not (optimistic and MALFORMED in str(exc)):
                    raise
            except BaseException:
                con.execute("ROLLBACK")
                raise
        raise AssertionError("unreachable")

    def _execute(self, con, sources: list[Source]) -> IngestSummary:
        # A retry keeps the id it drew: sequences do not roll back, and ids should not skip.
        if self.ingest_id is None:
            self.ingest_id = con.execute("SELECT nextval('ingest_ids')").fetchone()[0]
        ingest_id = self.ingest_id
        started_at = datetime.now(UTC)
        summary = IngestSummary(ingest_id=ingest_id, files=len(sources))
        con.execute("CREATE OR REPLACE TEMP TABLE files (file_id INTEGER, name VARCHAR)")
        con.executemany("INSERT INTO files VALUES (?, ?)", [[s.file_id, s.name] for s in sources])
        columns = ", ".join(f'"{n}" {t}' for n, t in STAGE.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE stage ({columns})")

        documents = {s.file_id: name for s in sources
                     if (name := document_reader(s, self.forced)) is not None}
        line_sources = [s for s in sources if s.file_id not in documents]
        by_reader: dict[str, list[Source]] = {}
        for source in sources:
            if source.file_id in documents:
                by_reader.setdefault(documents[source.file_id], []).append(source)
        direct_read = 0
        for name, group in by_reader.items():
            _, select = DOCUMENT_READERS[name]
            parts = _by_size(group, BATCH_BYTES) if name in MANY_FILE_READERS else group
            for part in parts:
                if name in DIRECT:
                    done = DIRECT[name](con, part, ingest_id, self._into_usage, self.project,
                                        self.tags, **self.reader_options)
                    if done is not None:
                        direct_read, rest = direct_read + done[0], done[1]
                        if rest is not None:
                            con.execute(f"INSERT INTO stage BY NAME {rest}")
                        continue
                _stage_documents(con, name, lambda part=part, select=select: select(
                    con, part, self.project, self.tags, **self.reader_options))

        fast = self._fast_path(con, ingest_id, line_sources)
        summary.read = direct_read + sum(fast.values())
        # A file is done when every non-blank line became a record on the fast path.
        leftovers = [s for s in line_sources
                     if fast.get(s.file_id, 0) != self.counts.nonblank(s.file_id)]
        if leftovers:
            self._stage_lines(con, leftovers)
        _stitch_streams(con)
        whole_file = ", ".join(quote(name) for name in DOCUMENT_READERS)
        read, rejected, skipped, skipped_records, valid = con.execute(f"""
            SELECT count(*) FILTER (kind = 'record'),
                   count(*) FILTER (kind = 'record' AND reason IS NOT NULL),
                   count(*) FILTER (kind = 'skip' AND coalesce(format, '') NOT IN ({whole_file})),
                   count(*) FILTER (kind = 'skip' AND format IN ({whole_file})),
                   count(*) FILTER (kind = 'record' AND reason IS NULL)
            FROM stage
        """).fetchone()
        summary.read += read
        summary.rejected = rejected
        summary.skipped = skipped
        summary.skipped_records = skipped_records
        write_rejects(con, ingest_id)
        if valid:
            # good staged records (stitched streams, whole-file readers); repeats are
            # settled after, with the fast path's rows (`settle_repeats`)
            con.execute(self._usage_insert("SELECT * FROM stage", ingest_id))
        summary.duplicates, summary.conflicts = settle_repeats(con, ingest_id)
        summary.inserted, summary.search_unknown = con.execute(
            "SELECT count(*), count(*) FILTER (search_calls IS NULL) FROM usage "
            "WHERE ingest_id = ?", [ingest_id]).fetchone()
        terms = summary.inserted + summary.duplicates + summary.conflicts + summary.rejected
        if terms != summary.read:  # never expected: refuse to commit counts that do not add up
            raise RuntimeError(
                f"ingest counts do not add up: read {summary.read} <> inserted "
                f"{summary.inserted} + duplicates {summary.duplicates} + conflicts "
                f"{summary.conflicts} + rejected {summary.rejected}; nothing was stored")
        con.execute(
            "INSERT INTO ingests (ingest_id, started_at, finished_at, sources, read, inserted, "
            "duplicates, rejected, conflicts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [ingest_id, started_at, datetime.now(UTC), json.dumps(self.inputs),
             summary.read, summary.inserted, summary.duplicates, summary.rejected,
             summary.conflicts],
        )
        con.execute("DROP TABLE stage")
        con.execute("DROP TABLE files")
        return summary

    def _records(self, source: str, optimistic: bool = False, detailed: bool = True) -> str:
        forced = self.forced if self.forced not in DOCUMENT_READERS else None
        return records_sql(FORMATS, source, forced, self.project, self.tags, optimistic,
                           detailed)

    def _scan(self, con, sources: list[Source], sql_of, progress: Progress | None) -> None:
        """Run `sql_of(relation name)` over the lines of `sources`."""
        errors: list[BaseException] = []
        con.register("costkit_lines", reader(sources, progress, self.counts, errors))
        # Pushing the final filter down would inline (so compute twice) the detection and
        # extraction expressions it depends on.
        con.execute("SET disabled_optimizers = 'filter_pushdown'")
        try:
            con.execute(sql_of("costkit_lines"))
        except duckdb.Error:
            if errors:  # the reader stopped on a bad input: that is the error to report
                raise errors[0] from None
            raise
        finally:
            try:
                con.unregister("costkit_lines")
                con.execute("RESET disabled_optimizers")
            except duckdb.TransactionException:
                pass  # the statement failed and aborted the transaction: the caller rolls back
        if errors:
            raise errors[0]

    def _fast_path(self, con, ingest_id: int, sources: list[Source]) -> dict[int, int]:
        """Good records straight into `usage`; returns file_id -> records inserted."""
        self.counts = LineCounts()
        if not sources:
            return {}
        self._scan(con, sources, lambda rel: self._usage_insert(
            self._records(rel, self.optimistic, detailed=False), ingest_id, line_records=True),
            self.progress)
        counted = dict(con.execute(
            "SELECT source_file, count(*) FROM usage WHERE ingest_id = ? GROUP BY source_file",
            [ingest_id]).fetchall())
        return {s.file_id: counted.get(s.name, 0) for s in sources}

    def _into_usage(self, rows: str) -> str:
        """INSERT into `usage` of the good records of `rows` (a SELECT of staging rows)."""
        return self._usage_insert(rows, int(self.ingest_id or 0))

    def _usage_insert(self, rows: str, ingest_id: int, line_records: bool = False) -> str:
        """The one INSERT into `usage`: the good records of `rows` (a SELECT of staging rows,
        or with `line_records` of the line readers' records, which carry no billed amount
        and are one request each), with their file and line and the run's id."""
        names = ", ".join(f'"{c}"' for c in USAGE_COLUMNS)

        def value(column: str) -> str:
            if column == "provider":
                return self._provider_sql()
            if line_records and column in BILLED_COLUMNS:
                return "NULL"
            if column in REQUEST_COUNT:
                return "1" if line_records else f'coalesce(r."{column}", 1)'
            return f'r."{column}"'

        return f"""
            INSERT INTO usage ({names}, source_format, source_file, source_line, ingest_id)
            SELECT {", ".join(map(value, USAGE_COLUMNS))}, r.format, f.name, r.line,
                   {int(ingest_id)}
            FROM ({rows}) r JOIN files f USING (file_id)
            WHERE r.kind = 'record' AND r.reason IS NULL
        """

    def _stage_lines(self, con, sources: list[Source]) -> None:
        """Everything the fast path did not take from these files, into `stage`."""
        counts = self.counts
        self.counts = LineCounts()  # already counted; the second read only stages
        try:
            self._scan(con, sources, lambda rel: f"""
                INSERT INTO stage BY NAME
                SELECT * FROM ({self._records(rel)})
                WHERE NOT (kind = 'record' AND reason IS NULL)
            """, None)
        finally:
            self.counts = counts

    def _provider_sql(self) -> str:
        """The provider column of a record `r`: the log's own, else the provider of the
        model's card."""
        prefix = "r."
        pairs = sorted({(name, card.provider) for card in self.book.cards if card.provider
                        for name in (card.model, *card.aliases)})
        if not pairs:
            return f"{prefix}provider"
        whens = " ".join(f"WHEN {quote(m)} THEN {quote(p)}" for m, p in pairs)
        return f"coalesce({prefix}provider, CASE {prefix}model {whens} END)"


def _stage_documents(con, name: str, select: Callable[[], str]) -> None:
    """A whole-file reader's rows into `stage`.

    A reader whose SELECT is the composed line SQL (`LINE_SQL_READERS`) is run as the line
    path runs it (filter pushdown off: pushing its final filter down would compute the
    detection and extraction expressions twice), into a table of its own where its streams
    are stitched at once (a stream never spans files), so `stage` receives records, not
    every part with its raw text; and the lines it loaded are dropped. Memory then follows
    one batch of files (`BATCH_BYTES`), not the whole run."""
    if name not in LINE_SQL_READERS:
        con.execute(f"INSERT INTO stage BY NAME {select()}")
        return
    before = _temp_relations(con)
    sql = select()
    con.execute("CREATE OR REPLACE TEMP TABLE stage_batch AS FROM stage LIMIT 0")
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    try:
        con.execute(f"INSERT INTO stage_batch BY NAME {sql}")
    finally:
        try:
            con.execute("RESET disabled_optimizers")
        except duckdb.TransactionException:
            pass  # the statement failed and aborted the transaction: the caller rolls back
    for kind, relation in sorted(_temp_relations(con) - before, reverse=True):  # views first
        if relation != "stage_batch":
            escaped = relation.replace('"', '""')
            con.execute(f'DROP {kind} IF EXISTS "{escaped}"')
    con.execute("INSERT INTO stage FROM stage_batch WHERE kind <> 'part'")
    _stitch_streams(con, "stage_batch", into="stage")
    con.execute("DROP TABLE stage_batch")


def _by_size(sources: list[Source], size: int) -> list[list[Source]]:
    """`sources` in order, in runs of about `size` bytes (at least one file each)."""
    runs: list[list[Source]] = [[]]
    held = 0
    for source in sources:
        if runs[-1] and held + source.size > size:
            runs.append([])
            held = 0
        runs[-1].append(source)
        held += source.size
    return runs


def _temp_relations(con) -> set[tuple[str, str]]:
    return set(con.execute(
        "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() "
        "WHERE temporary AND NOT internal").fetchall())


def _stitch_streams(con, table: str = "stage", into: str | None = None) -> None:
    """All parts of one stream (same file, format and key) become one record: the part that
    carries usage (the last one if several), at the line where the stream began. A stream
    no part of which carries usage is rejected, with its first line's raw text.

    The records go into `table` in place of its parts, or into `into` when given (`table`
    is then left as it was)."""
    no_usage = " ".join(
        f"WHEN {quote(name)} THEN {quote(why)}" for name, why in NO_USAGE.items())
    replaced = {
        "kind": "'record'",
        "line": "first_line",
        "reason": (f"CASE WHEN has_usage THEN reason ELSE (CASE replace(format, 'envelope/', '') "
                   f"{no_usage} ELSE {quote(NO_USAGE_DEFAULT)} END) END"),
        "raw": "CASE WHEN has_usage AND reason IS NULL THEN NULL ELSE first_raw END",
    }
    select = ", ".join(replaced.get(c, f's."{c}"') for c in STAGE)
    # One pass of grouping finds each stream's first line, first raw text and picked part
    # (the highest line among the parts with usage, else the highest line); the picked
    # rows are then fetched by rowid. A window over the parts would sort them all, with
    # their raw text.
    con.execute(f"""
        INSERT INTO {into or table}
        SELECT {select}
        FROM (
            SELECT min(line) AS first_line, arg_min(raw, line) AS first_raw,
                   arg_max(rowid, (coalesce(has_usage, FALSE), line)) AS picked
            FROM {table}
            WHERE kind = 'part'
            GROUP BY file_id, format, stream_key
        ) g JOIN {table} s ON s.rowid = g.picked
    """)
    if into is None:
        con.execute(f"DELETE FROM {table} WHERE kind = 'part'")
