"""`costkit audit`: check an invoice, a FOCUS export or the gateway's ledger."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors
from costkit.cli.options import (
    Db,
    FormatTableJsonCsv,
    LedgerReasoning,
    OutDir,
    Prices,
    TableJsonCsv,
    Tz,
    helped,
)
from costkit.core.money import exact

AuditTz = helped(Tz, "Time zone of invoice dates written without one.")
AuditOut = helped(OutDir, "Folder for the --html page (default: reports/).")


class Rounding(StrEnum):
    line = "line"
    none = "none"


KIND_NAMES = {"invoice": "line-item invoice", "focus": "FOCUS export", "ledger": "gateway ledger",
              "costs": "OpenAI Costs API pages"}


@handle_errors
def audit(
    file: Annotated[Path | None, typer.Argument(
        metavar="FILE", show_default=False,
        help="Invoice CSV or FOCUS export to check against the usage in the store.")] = None,
    ledger: Annotated[Path | None, typer.Option(
        "--ledger", metavar="FILE", show_default=False,
        help="Billed requests to check against the price cards: the gateway ledger (usage "
             "events), LiteLLM spend logs or OpenRouter generation stats; or OpenAI Costs API "
             "pages, checked per day and project against the store.",
    )] = None,
    fmt: FormatTableJsonCsv = TableJsonCsv.table,
    html: Annotated[bool, typer.Option(
        "--html", help="Also write a reconciliation page (into reports/, or --out).")] = False,
    out: AuditOut = None,
    tolerance: Annotated[str, typer.Option(
        "--tolerance",
        help="Quantity tolerance: a percent of the logged quantity and/or tokens; the larger "
             "applies (calls: the percent).")] = "0.5%,1000",
    rounding: Annotated[Rounding, typer.Option(
        "--rounding",
        help="line: each amount rounded half-up to the cent (or the places it is written "
             "in); none: exact.")] = Rounding.line,
    tz: AuditTz = "UTC",
    ledger_reasoning: Annotated[LedgerReasoning, typer.Option(
        "--ledger-reasoning",
        help="in-output: the ledger's tokens.output includes reasoning, billed as output; "
             "from-total: reasoning is tokens.total - input - output.",
    )] = LedgerReasoning.in_output,
    db: Db = None,
    prices_path: Prices = None,
) -> None:
    """Check an invoice or FOCUS export against logged usage, or the gateway's ledger against the
    price cards. Exit 0 when clean, 1 with findings, 2 for unreadable input."""
    from costkit.audit.findings import Tolerance, findings_csv
    from costkit.audit.ledger import audit_ledger
    from costkit.audit.reconcile import audit_invoice
    from costkit.core.safe_output import masked
    from costkit.pricing.book import load_price_book

    if (file is None) == (ledger is None):
        raise fail("give an invoice FILE or --ledger FILE (one of them)")
    book = load_price_book(prices_path)
    if ledger is not None:
        from costkit.readers.openai_costs import recognises

        if recognises(ledger):  # billed per day and project: checked against the store
            from costkit.audit.costs import audit_costs

            result = audit_costs(ledger, db, book, rounding.value)
        else:
            result = audit_ledger(ledger, book, rounding.value,
                                  ledger_reasoning is LedgerReasoning.in_output)
    else:
        result = audit_invoice(file, db, book, tz, Tolerance.parse(tolerance), rounding.value)
    result = masked(result)  # secrets in invoice, ledger or store text never printed
    if html:
        from costkit.audit.html import write_page

        page = write_page(result, out or Path("reports"))
        typer.echo(f"costkit: wrote {page}", err=True)
    output.emit(fmt, json_value=result.as_dict() if fmt == "json" else None,
                csv_rows=findings_csv(result) if fmt == "csv" else None,
                table=lambda stream: _print_table(result, stream))
    if result.findings:
        raise typer.Exit(1)


def _money(value: Decimal | None, currency: str) -> str:
    """Exact, with at least cents: $0.0089088, $2.50, -$1.515."""
    return "-" if value is None else exact(value, currency)


def _quantity(value: Decimal | None, unit: str, currency: str) -> str:
    if value is None:
        return "-"
    if unit in ("tokens", "calls"):
        return f"{value.normalize():,f} {unit}"
    return _money(value, currency)  # money, or a unit price (its unit is in the detail line)


def _print_table(result: Any, stream: Any) -> None:
    from rich.table import Table

    from costkit.core.safe_output import text

    console = output.console(stream, width=160)
    s = result.summary
    cur = result.currency
    from costkit.audit.findings import READER_NAMES

    kind = READER_NAMES.get(s.get("reader", ""), KIND_NAMES[result.kind])
    title = f"Audit of {Path(result.source).name}: {kind}"
    if result.kind == "ledger":
        title += f", {s['events']:,} events ({s['requests']:,} requests)"
    elif result.kind == "costs":
        title += (f", {s['results']:,} cost results in {s['groups']:,} day-project groups, "
                  f"{s['first_bucket'][:10]} to {s['last_bucket'][:10]}")
    elif s["periods"]:
        title += f" {', '.join(s['invoices'])}, period {', '.join(s['periods'])}"
    else:
        title += f" {', '.join(s['invoices'])}, no LLM usage lines"
    console.print(f"{title}, {cur}")
    if result.findings:
        table = Table(title=f"{len(result.findings)} finding(s)", title_justify="left")
        for column in ("kind", "concerns", "model", "charge", "expected", "billed",
                       "difference", "impact"):
            table.add_column(column, no_wrap=column in ("kind", "concerns"),
                             justify="right" if column in
                             ("expected", "billed", "difference", "impact") else "left")
        for f in result.findings:
            table.add_row(
                f.kind, text(f.ref, f.request_id) if f.request_id else f.ref,
                f.model or "-", f.charge or "-",
                _quantity(f.expected, f.unit, cur), _quantity(f.billed, f.unit, cur),
                _quantity(f.difference, f.unit, cur), _money(f.impact, cur),
            )
        console.print(table)
        for f in result.findings:
            console.print(f"  {f.kind} {f.ref}: {f.detail}", highlight=False, soft_wrap=True)
    if result.charges:
        table = Table(title="Reconciliation", title_justify="left")
        for column in ("period", "model", "charge", "billed qty", "logged qty", "billed",
                       "expected", "difference"):
            table.add_column(column, justify="left" if column in
                             ("period", "model", "charge") else "right")
        for row in result.charges:
            table.add_row(
                row.period, row.model, row.charge,
                _quantity(row.billed_quantity, row.unit, cur),
                _quantity(row.logged_quantity, row.unit, cur),
                _money(row.billed_amount, cur), _money(row.expected_amount, cur),
                _money(row.difference, cur),
            )
        console.print(table)
    console.print(
        f"billed total {_money(s['billed_total'], cur)}, expected total "
        f"{_money(s['expected_total'], cur)}, net difference {_money(s['difference'], cur)}",
        highlight=False,
    )
    for note in _notes(result):
        console.print(note, highlight=False, soft_wrap=True)
    if not result.findings:
        console.print("No LLM usage lines: nothing to reconcile." if _nothing_to_check(s)
                      else "No findings: everything matches within tolerance.", highlight=False)


def _nothing_to_check(summary: dict) -> bool:
    """A FOCUS export whose rows are all out of scope."""
    return "out_of_scope" in summary and not summary.get("lines")


def _notes(result) -> list[str]:
    s, cur = result.summary, result.currency
    notes = []
    if result.kind == "costs":
        if "unpriced" in s:
            notes.append(f"not checked (usage with no card): {', '.join(s['unpriced']['groups'])}"
                         f" ({_money(s['unpriced']['billed'], cur)})")
        notes.append(f"rounding: {s['rounding']}")
    elif result.kind == "ledger":
        if s.get("discount_total"):
            notes.append(f"discounts applied: {_money(s['discount_total'], cur)}")
        failed = s["failed_billed"]
        if failed["requests"]:
            notes.append(f"failed requests that were billed: {failed['requests']} "
                         f"({_money(failed['billed'], cur)}): {', '.join(failed['ids'])}")
        if "unpriced" in s:
            u = s["unpriced"]
            notes.append(f"not checked (no card): {u['events']} events of "
                         f"{', '.join(u['models'])} ({_money(u['billed'], cur)})")
        if "byok" in s:
            notes.append(f"not checked (bring-your-own-key: total_cost is OpenRouter's fee, "
                         f"the provider bills the model): {s['byok']['events']} events "
                         f"({_money(s['byok']['billed'], cur)})")
        if "not_read" in s:
            notes.append(f"records not read: {s['not_read']['records']} (the unreadable_event "
                         "findings; `costkit ingest` rejects them alike)")
    else:
        for category, amount in s.get("other_charges", {}).items():
            notes.append(f"{category} (not usage, not reconciled): {_money(amount, cur)}")
        if "unit_readings" in s:
            from costkit.audit.invoice import reading_text

            notes.extend(reading_text(r) for r in s["unit_readings"])
        if "out_of_scope" in s:
            o = s["out_of_scope"]
            notes.append(f"out of scope (not LLM usage, not reconciled): {o['rows']:,} rows, "
                         + ", ".join(exact(amount, c) for c, amount in o["billed"].items()))
        if "corrections_to_other_periods" in s:
            c = s["corrections_to_other_periods"]
            notes.append(f"corrections to periods not in this file: lines "
                         f"{', '.join(map(str, c['lines']))} ({_money(c['billed'], cur)})")
        if "unpriced_models" in s:
            notes.append(f"logged usage with no card (not in expected total): "
                         f"{', '.join(s['unpriced_models'])}")
        notes.append(f"tolerance: {s['tolerance']}; rounding: {s['rounding']}")
    return notes
