"""`costkit.Store`: one usage store, and everything the library does with it, from Python.

A thin skin over the library, like the CLI: each method calls one library function
(`costkit.ingest.run.ingest`, `costkit.spend.breakdown.spend`, ...) and returns its result
as it is. No method holds a connection between calls, so a Store never keeps the file
locked against another process.

Only `ingest` writes, and only `ingest` creates the store: every other method reads an
existing store and raises StoreError ("no store at PATH") when there is none, because an
empty answer for a mistyped path would look like no spend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costkit.core.errors import InputError

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from costkit.audit.findings import AuditResult
    from costkit.forecast.run import ForecastRun
    from costkit.ingest.summary import IngestSummary
    from costkit.pricing.book import PriceBook
    from costkit.readers.lines import Progress
    from costkit.readers.mappings import CsvMapping

PathLike = str | os.PathLike[str]


class Store:
    """The usage store at `path` (else $COSTKIT_DB, else the user's data directory), priced
    with the built-in cards and the card files or directories in `prices` (as `--prices`;
    else $COSTKIT_PRICES)."""

    def __init__(self, path: PathLike | None = None, prices: Sequence[PathLike] | None = None):
        from costkit.store.connection import default_path

        # Resolved once: a later change of $COSTKIT_DB does not move this Store.
        self.path = Path(path) if path is not None else default_path()
        self.prices = [Path(p) for p in prices] if prices is not None else None
        self._book: PriceBook | None = None

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def book(self) -> PriceBook:
        """The price cards this Store prices with (loaded on first use)."""
        if self._book is None:
            from costkit.pricing.book import load_price_book

            self._book = load_price_book(self.prices)
        return self._book

    # --- writing ---------------------------------------------------------------------------

    def ingest(
        self,
        paths: PathLike | Sequence[PathLike],
        *,
        input_format: str | None = None,
        project: str | None = None,
        tags: dict[str, str] | None = None,
        ledger_reasoning: str | None = None,
        csv_mapping: CsvMapping | None = None,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Ingest usage logs (files, directories, .gz) into the store, creating it if needed;
        one transaction. Returns the run's IngestSummary (read = inserted + duplicates +
        conflicts + rejected)."""
        from costkit.ingest.run import ingest

        inputs = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        return ingest(inputs, db=self.path, prices=self.book, input_format=input_format,
                      project=project, tags=tags, progress=progress,
                      ledger_reasoning=ledger_reasoning, csv_mapping=csv_mapping)

    # --- reading ---------------------------------------------------------------------------

    def spend(
        self,
        by: str | Sequence[str] = "month",
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        tz: str = "UTC",
        models: Sequence[str] | None = None,
        projects: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Spend per group as a polars DataFrame: the `by` keys (day, week, month, model,
        project, api_key, user, endpoint, tag:NAME), `requests`, the token sums, each cost
        component and `total_cost` as Decimal (null where usage is unpriced), `currency`.
        `since` is inclusive, `until` exclusive; a date is local midnight in `tz`."""
        from costkit.spend.breakdown import spend

        keys = [by] if isinstance(by, str) else list(by)
        with self._reading() as con:
            return spend(con, keys, since=since, until=until, tz=tz,
                         models=list(models) if models is not None else None,
                         projects=list(projects) if projects is not None else None,
                         book=self.book)

    def rejects(
        self,
        *,
        since: date | datetime | None = None,
        limit: int | None = None,
        ingest_id: int | None = None,
        input_format: str | None = None,
    ) -> list[dict[str, Any]]:
        """The records ingests set aside, newest first (all of them unless `limit`): dicts of
        ingest_id, source_file, line, format, reason, raw, rejected_at."""
        from costkit.ingest.rejects import list_rejects

        return list_rejects(self.path, since=since, limit=limit, ingest_id=ingest_id,
                            input_format=input_format)

    def forecast(
        self,
        horizon: str = "eom",
        *,
        as_of: date | str | None = None,
        tz: str = "UTC",
        by: Sequence[str] = (),
        budget: Decimal | int | str | None = None,
        what_if: Sequence[str] = (),
        workload: PathLike | None = None,
        per_day: int | None = None,
        stale_after: str | timedelta = "2d",
    ) -> ForecastRun:
        """Forecast spend to month end (or `horizon`: 'eom', 'Nm', 'Nd', 'YYYY-MM-DD') from the
        days before `as_of` (default: today in `tz`), as `costkit forecast` does; options have
        the CLI's meaning (`what_if` items like 'growth=20%')."""
        from costkit.forecast.run import run_forecast

        if isinstance(budget, float):
            raise InputError("budget: give a Decimal, an int or a string, never a float")
        return run_forecast(
            db=self.path, prices=self.prices, horizon=horizon,
            as_of=as_of.isoformat() if isinstance(as_of, date) else as_of, tz=tz, by=by,
            budget=str(budget) if budget is not None else None, what_if=what_if,
            workload=Path(workload) if workload is not None else None, per_day=per_day,
            stale_after=stale_after,
        )

    def audit(
        self,
        invoice_path: PathLike,
        *,
        tz: str = "UTC",
        tolerance: str = "0.5%,1000",
        rounding: str = "line",
    ) -> AuditResult:
        """Check an invoice CSV or FOCUS export against the usage in the store, as
        `costkit audit FILE` does; the result's `findings` is empty when it is clean."""
        from costkit.audit.findings import Tolerance
        from costkit.audit.reconcile import audit_invoice

        return audit_invoice(Path(invoice_path), self.path, self.book, tz,
                             Tolerance.parse(tolerance), rounding)

    def monthly_report(
        self,
        month: str | date | None = None,
        out_dir: PathLike | None = None,
        *,
        tz: str = "UTC",
    ) -> Path:
        """Write the month's self-contained HTML report (month 'YYYY-MM' or a date in it;
        default: the last full month in `tz`) as costkit-YYYY-MM.html in `out_dir` (default:
        reports/); returns the page's path."""
        from costkit.report.monthly import last_full_month, parse_month, write_monthly_report

        if month is None:
            chosen = last_full_month(tz)
        elif isinstance(month, date):  # a datetime too: its calendar month
            chosen = date(month.year, month.month, 1)
        else:
            chosen = parse_month(month)
        with self._reading() as con:
            path, _ = write_monthly_report(
                con, chosen, tz=tz, out_dir=Path(out_dir) if out_dir is not None else None,
                book=self.book, source=str(self.path))
        return path

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        from costkit.store.connection import open_store

        con = open_store(self.path, read_only=True)  # refuses a missing store, creates none
        try:
            yield con
        finally:
            con.close()
