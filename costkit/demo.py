"""`costkit demo`: the bundled sample logs into a fresh store, then the monthly report.

The sample logs are one directory per project (tools/make_sample_data.py). They are found
in `--data DIR`, else shipped inside the package (`costkit/sample_data/logs`, so a wheel
install outside the checkout works), else in `./data/logs` (a checkout). Each directory is
ingested with its name as the default project; the report is for the latest full month
in the data. The store is a new file, never the user's own store.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from costkit.core.errors import InputError

if TYPE_CHECKING:  # loaded by run_demo: `costkit --help` reads DEFAULT_DB alone
    from costkit.ingest.summary import IngestSummary
    from costkit.pricing.book import PriceBook
    from costkit.report.data import MonthlyReport

DEFAULT_DB = Path("reports") / "demo.duckdb"
CHECKOUT_DATA = Path("data") / "logs"
PACKAGED_DATA = ("sample_data", "logs")


@dataclass(frozen=True)
class DemoResult:
    data: Path                                   # where the sample logs were read from
    db: Path                                     # the fresh store
    ingests: list[tuple[str, IngestSummary]]     # (project directory, its summary)
    rejects: list[tuple[str, int, str]]          # (reason, records, first file:line), most first
    month: date
    path: Path                                   # the report page
    report: MonthlyReport


@contextlib.contextmanager
def sample_data(explicit: Path | None = None) -> Iterator[Path]:
    """The directory of sample logs to use (see the module docstring for the order)."""
    if explicit is not None:
        if not explicit.is_dir():
            raise InputError(f"--data {explicit}: not a directory of usage logs")
        yield explicit
        return
    packaged = packaged_logs()
    if packaged.is_dir():
        # A regular install holds it as plain files; a zipped one is extracted for the run.
        with resources.as_file(packaged) as path:
            yield Path(path)
        return
    if CHECKOUT_DATA.is_dir():
        yield CHECKOUT_DATA
        return
    raise InputError(
        "no sample logs found: this installation does not ship costkit/sample_data/logs and "
        f"there is no ./{CHECKOUT_DATA}; pass --data DIR (one directory of logs per project)")


def packaged_logs() -> Traversable:
    """Where an installed costkit keeps its sample logs (may not exist)."""
    return resources.files("costkit").joinpath(*PACKAGED_DATA)


def fresh_store(db: Path | None) -> Path:
    """The store the demo writes: the default file is replaced on every run; a path the
    user names must not already hold usage (the demo never mixes into a real store)."""
    if db is None:
        for stale in (DEFAULT_DB, DEFAULT_DB.with_name(DEFAULT_DB.name + ".wal")):
            stale.unlink(missing_ok=True)
        return DEFAULT_DB
    if db.exists():
        from costkit.store.connection import open_store

        con = open_store(db, read_only=True)
        try:
            held = con.execute("SELECT count(*) FROM usage").fetchone()[0]
        finally:
            con.close()
        if held:
            raise InputError(
                f"--db {db}: that store already holds {held:,} requests; the demo writes a "
                "fresh store: choose a new file (or remove this one)")
    return db


def run_demo(
    data: Path | None = None,
    db: Path | None = None,
    out_dir: Path | None = None,
    tz: str = "UTC",
    month: date | None = None,
    prices: PriceBook | list[Path] | None = None,
    on_ingest: Callable[[str, IngestSummary], None] | None = None,
) -> DemoResult:
    """Ingest every project directory of the sample logs into a fresh store, then write the
    monthly report of `month` (default: the latest full month in the data)."""
    from costkit.core.timezones import canonical
    from costkit.ingest.run import ingest
    from costkit.pricing.book import PriceBook, load_price_book
    from costkit.report.monthly import latest_full_month_in_store, write_monthly_report
    from costkit.store.connection import open_store

    tz = canonical(tz)  # before any work: a bad zone must not cost an ingest
    book = prices if isinstance(prices, PriceBook) else load_price_book(prices)
    target = fresh_store(db)
    results: list[tuple[str, IngestSummary]] = []
    with sample_data(data) as folder:
        projects = sorted(p for p in folder.iterdir() if p.is_dir())
        loose = sorted(p for p in folder.iterdir() if p.is_file())
        if not projects and not loose:
            raise InputError(f"{folder}: no usage logs in it")
        for path in projects:
            summary = ingest([path], db=target, prices=book, project=path.name)
            results.append((path.name, summary))
            if on_ingest:
                on_ingest(path.name, summary)
        if loose:
            summary = ingest(loose, db=target, prices=book)
            results.append(("(no project)", summary))
            if on_ingest:
                on_ingest("(no project)", summary)
    rejects = _rejects_by_reason(target, folder)
    con = open_store(target, read_only=True)
    try:
        chosen = month or latest_full_month_in_store(con, tz)
        if chosen is None:
            raise InputError(f"{folder}: the sample logs do not cover a full month")
        path, report = write_monthly_report(con, chosen, tz=tz, out_dir=out_dir, book=book,
                                            source=str(target))
    finally:
        con.close()
    return DemoResult(data=folder, db=target, ingests=results,
                      rejects=rejects,
                      month=chosen, path=path, report=report)


def _rejects_by_reason(db: Path, folder: Path) -> list[tuple[str, int, str]]:
    """The store's rejects per reason, with where the first one is (relative to the data)."""
    from costkit.ingest.rejects import list_rejects

    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for row in sorted(list_rejects(db, limit=None),
                      key=lambda r: (str(r["source_file"]), r["line"] or 0)):
        counts[row["reason"]] += 1
        if row["reason"] not in first:
            name = Path(str(row["source_file"]))
            with contextlib.suppress(ValueError):
                name = name.resolve().relative_to(folder.resolve())
            first[row["reason"]] = f"{name}:{row['line']}"
    return [(reason, n, first[reason])
            for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
