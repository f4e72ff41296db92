"""`costkit estimate`: price a prompt, a request body or a JSONL batch before sending it."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors, warn
from costkit.cli.options import (
    Budget,
    Db,
    FormatTableJsonCsv,
    OutFile,
    Prices,
    TableJsonCsv,
    helped,
)
from costkit.core.money import decimal_text, exact

SHOWN_ROWS = 20  # per-line rows in a batch's table (all of them in csv / json)
SHOWN_ERRORS = 100  # bad lines printed one by one; the rest are counted
MASK_CHUNK = 4096  # batch rows whose custom_ids are masked in one query (~10 ms)
CSV_COLUMNS = (
    "line", "custom_id", "model", "endpoint", "exact", "input_tokens", "input_cost",
    "low_total_cost", "expected_output_tokens", "expected_reasoning_tokens",
    "expected_search_calls", "expected_total_cost", "high_output_tokens",
    "high_reasoning_tokens", "high_search_calls", "high_total_cost", "warnings",
)
EstimateBudget = helped(Budget, "Exit with status 3 when the high total is over this.")
EstimateOut = helped(OutFile, "Write the estimate to this file instead of stdout (whole or not "
                              "at all).")


def _money(value: Decimal) -> str:
    """Every digit of an estimate, no padding: $0.00000684, $0."""
    return exact(value, "USD", min_places=0)


@handle_errors
def estimate_command(
    text: Annotated[str | None, typer.Argument(
        help="Prompt text, priced as one user message (else --request, --batch or stdin).",
        show_default=False)] = None,
    request: Annotated[Path | None, typer.Option(
        "--request", "-r", metavar="FILE",
        help="A JSON request body for /v1/chat/completions, /v1/responses or /v1/messages "
             "('-' reads stdin).", show_default=False)] = None,
    batch: Annotated[Path | None, typer.Option(
        "--batch", "-b", metavar="FILE",
        help="JSONL of request bodies or batch-API lines {custom_id, url, body} "
             "('-' reads stdin).", show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Price as this model (default: the body's model, else "
                              "deepseek-v3-2).", show_default=False)] = None,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", "-e", metavar="ENDPOINT",
        help="chat.completions, responses or messages (default: from the body's shape; in "
             "a batch, from each line's url).", show_default=False)] = None,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", help="Max answer tokens (overrides the body; default: the card's).",
        show_default=False)] = None,
    thinking: Annotated[bool | None, typer.Option(
        "--thinking/--no-thinking", help="Thinking mode (default: as the body asks, else the "
                                         "card's default).", show_default=False)] = None,
    thinking_budget: Annotated[int | None, typer.Option(
        "--thinking-budget", help="Max reasoning tokens (default: the body's, else the card's).",
        show_default=False)] = None,
    reasoning_effort: Annotated[str | None, typer.Option(
        "--reasoning-effort", help="none, low, medium, high or max (none turns thinking off).",
        show_default=False)] = None,
    search: Annotated[bool | None, typer.Option(
        "--search/--no-search", help="Web search on or off (default: as the body asks).",
        show_default=False)] = None,
    search_calls: Annotated[int | None, typer.Option(
        "--search-calls", help="Search calls in the high estimate when search is on "
                               "[default: 5, or the tool's max_uses].", show_default=False)] = None,
    budget: EstimateBudget = None,
    fmt: FormatTableJsonCsv = TableJsonCsv.table,
    out: EstimateOut = None,
    show_prompt: Annotated[bool, typer.Option(
        "--show-prompt", help="Also print the rendered prompt text (single request).")] = False,
    no_history: Annotated[bool, typer.Option(
        "--no-history", help="Do not learn 'expected' from the usage store; use the defaults.")
    ] = False,
    db: Db = None,
    prices_path: Prices = None,
) -> None:
    """Price a prompt or request before it is sent: exact prompt tokens and cost, and
    low / expected / high for output, reasoning and web search, with every assumption stated.

    \b
    Examples:
      costkit estimate "Write a haiku about the ocean."
      costkit estimate --request body.json --budget 0.05
      costkit estimate --batch requests.jsonl --format csv > estimates.csv
      cat prompt.txt | costkit estimate --model deepseek-v3-2 --max-tokens 2000 --no-thinking
    """
    from costkit.core.errors import BudgetExceeded, InputError
    from costkit.core.safe_output import masked
    from costkit.estimator.estimate import estimate, load_request
    from costkit.pricing.book import load_price_book

    limit: Decimal | None = budget  # parsed by the option's callback
    given = [name for name, value in (("TEXT", text), ("--request", request), ("--batch", batch))
             if value is not None]
    if len(given) > 1:
        raise fail(f"give one of TEXT, --request or --batch, not {' and '.join(given)}")
    options = {"max_tokens": max_tokens, "thinking": thinking, "thinking_budget": thinking_budget,
               "reasoning_effort": reasoning_effort, "search": search,
               "search_calls": search_calls}
    book = load_price_book(prices_path)
    if batch is not None:
        with output.destination(out) as stream:
            totals = _run_batch(batch, book, model, endpoint, options, fmt, db, not no_history,
                                stream)
        if limit is not None and totals.high.total_cost > limit:
            raise BudgetExceeded(
                f"the batch's high estimate {_money(totals.high.total_cost)} is over the "
                f"budget {_money(limit)}"
            )
        return

    if request is not None:
        body = load_request(request)
        source = "stdin" if str(request) == "-" else str(request)
    else:
        if text is None:
            if sys.stdin.isatty():
                raise fail("nothing to estimate: give TEXT, --request FILE or --batch FILE, "
                           "or pipe the prompt on stdin")
            text = sys.stdin.read()
            if not text.strip():
                raise fail("stdin is empty: nothing to estimate")
        body, source = text, None
    try:
        result = estimate(body, model, endpoint, book=book, db=db, history=not no_history,
                          **options)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: {exc}") from None
    for message in result.warnings:
        warn(message)
    shown = masked(result) if fmt != "json" else result  # json: masked as it is written
    rows = None
    if fmt == "csv":
        from costkit.estimator.batch import LineResult

        rows = [CSV_COLUMNS, _csv_row(LineResult(1, None, shown))]
    card = _card_source(book, result)
    output.emit(fmt, out=out, json_value={**result.as_dict(), **card} if fmt == "json" else None,
                csv_rows=rows,
                table=lambda stream: _print_single(shown, show_prompt, stream, card))
    if limit is not None and result.high.total_cost > limit:
        raise BudgetExceeded(
            f"the high estimate {_money(result.high.total_cost)} is over the budget "
            f"{_money(limit)}"
        )


# --- single request ---------------------------------------------------------------------------

def _card_source(book: Any, result: Any) -> dict[str, Any]:
    """Which card priced the estimate, where it came from, and how the name matched it."""
    from costkit.pricing.provenance import describe, provenance

    card = next(c for c in book.cards_for(result.model) if c.card_id == result.card_id)
    match = next((m for m in book.matches.values() if m.model == result.model), None)
    return {"card_source": provenance(card), "card_from": describe(card),
            "matched": match.describe() if match else None}


def _print_single(result: Any, show_prompt: bool, stream: IO[str],
                  source: dict[str, Any]) -> None:
    from rich.table import Table

    console = output.console(stream, width=110, highlight=False)
    flags = [f"thinking {'on' if result.thinking else 'off'}",
             f"search {'on' if result.search else 'off'}",
             f"max_tokens {result.max_tokens:,}"]
    if result.thinking and result.thinking_budget is not None:
        flags.append(f"thinking_budget {result.thinking_budget:,}")
    console.print(f"{result.model} via {result.endpoint} ({', '.join(flags)})")
    console.print(f"card: {result.card_id} ({source['card_from']})", markup=False)
    if source["matched"]:
        console.print(f"matched: {source['matched']}", markup=False)
    console.print(
        f"prompt: {result.input_tokens:,} tokens ({'exact' if result.exact else 'approximate'}), "
        f"input cost {_money(result.input_cost)} {result.currency}"
    )
    table = Table(show_edge=False)
    table.add_column("")
    for name in ("low", "expected", "high"):
        table.add_column(name, justify="right")
    scenarios = (result.low, result.expected, result.high)
    table.add_row("output tokens", *(f"{s.output_tokens:,}" for s in scenarios))
    table.add_row("reasoning tokens", *(f"{s.reasoning_tokens:,}" for s in scenarios))
    table.add_row("search calls", *(f"{s.search_calls:,}" for s in scenarios))
    _money_rows(table, scenarios)
    console.print(table)
    console.print("assumptions:")
    for note in result.assumptions:
        console.print(f"  - {note}", soft_wrap=True)
    if show_prompt and result.prompt is not None:
        console.print("prompt text:")
        # written as is: rich would expand tabs, turn ":smile:" into an emoji, drop controls
        stream.write(result.prompt + "\n")


def _money_rows(table: Any, scenarios: Any) -> None:
    """Cost rows of a low / expected / high table (an Estimate's or a batch's totals)."""
    table.add_row("input cost", *(_money(s.input_cost) for s in scenarios))
    table.add_row("output cost", *(_money(s.output_cost) for s in scenarios))
    table.add_row("reasoning cost", *(_money(s.reasoning_cost) for s in scenarios))
    table.add_row("web search cost", *(_money(s.web_search_cost) for s in scenarios))
    table.add_row("total", *(_money(s.total_cost) for s in scenarios), style="bold")


# --- batch ------------------------------------------------------------------------------------

def _run_batch(path, book, model, endpoint, options, fmt, db, history, stream) -> Any:
    from costkit.core.safe_output import json_safe, masked
    from costkit.estimator.batch import BatchEstimator, read_lines
    from costkit.estimator.history import HistorySource

    source = "stdin" if str(path) == "-" else str(path)
    shown: list[Any] = []
    pending: list[Any] = []
    errors = 0
    writer = output.csv_writer(stream) if fmt == "csv" else None

    def flush() -> None:
        """Write the pending rows, their custom_ids masked in one query (ids are the batch
        file's own text)."""
        for item, custom_id in zip(pending, masked([i.custom_id for i in pending]),
                                   strict=True):
            item = replace(item, custom_id=custom_id)
            if writer is not None:
                writer.writerow(_csv_row(item))
            elif fmt == "json":
                line = {"line": item.line, "custom_id": item.custom_id,
                        **item.estimate.as_dict()}
                stream.write(json_safe(json.dumps(line, ensure_ascii=False)) + "\n")
            elif len(shown) < SHOWN_ROWS:
                shown.append(item)
        pending.clear()

    with HistorySource(db, enabled=history) as past:
        estimator = BatchEstimator(book=book, history=past, model=model, endpoint=endpoint,
                                   options=options, source=source)
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        with output.progress("estimating", output.file_size(path)) as bar:
            for item in estimator.run(read_lines(path, bar.advance if bar else None)):
                if item.error is not None:
                    errors += 1
                    if errors <= SHOWN_ERRORS:
                        warn(f"{item.error}; line skipped")
                    continue
                if fmt != "table" or len(shown) + len(pending) < SHOWN_ROWS:
                    pending.append(item)
                if len(pending) >= MASK_CHUNK:
                    flush()
            flush()
        totals = estimator.totals
        if history and past.problem:
            warn(past.problem)
    if errors > SHOWN_ERRORS:
        warn(f"{errors - SHOWN_ERRORS:,} more bad lines not shown")
    if writer is not None:
        writer.writerow(_csv_totals(totals))
    elif fmt == "json":
        stream.write(json_safe(json.dumps({"totals": _totals_dict(totals)},
                                          ensure_ascii=False)) + "\n")
    else:
        _print_batch(source, shown, totals, stream)
    stream.flush()
    typer.echo(
        f"costkit: {_count(totals.requests, 'request')} estimated, "
        f"{_count(totals.bad_lines, 'bad line')} skipped, "
        f"{_count(totals.blank_lines, 'blank line')} ignored", err=True,
    )
    return totals


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _csv_row(item: Any) -> list:
    """Counts and Decimals stay numbers; CsvWriter writes them as plain decimals."""
    e = item.estimate
    return [
        item.line, item.custom_id or "", e.model, e.endpoint, e.exact,
        e.input_tokens, e.input_cost, e.low.total_cost,
        e.expected.output_tokens, e.expected.reasoning_tokens, e.expected.search_calls,
        e.expected.total_cost, e.high.output_tokens, e.high.reasoning_tokens,
        e.high.search_calls, e.high.total_cost, " | ".join(e.warnings),
    ]


def _csv_totals(t: Any) -> list:
    return [
        "total", f"{t.requests} requests", ",".join(sorted(t.models)), "",
        t.exact, t.input_tokens, t.input_cost,
        t.low.total_cost, t.expected.output_tokens, t.expected.reasoning_tokens,
        t.expected.search_calls, t.expected.total_cost, t.high.output_tokens,
        t.high.reasoning_tokens, t.high.search_calls, t.high.total_cost,
        f"{_count(t.bad_lines, 'bad line')} skipped",
    ]


def _totals_dict(t: Any) -> dict:
    def scenario(s) -> dict:
        return {"output_tokens": s.output_tokens, "reasoning_tokens": s.reasoning_tokens,
                "search_calls": s.search_calls, "input_cost": decimal_text(s.input_cost),
                "output_cost": decimal_text(s.output_cost),
                "reasoning_cost": decimal_text(s.reasoning_cost),
                "web_search_cost": decimal_text(s.web_search_cost),
                "total_cost": decimal_text(s.total_cost)}

    return {
        "requests": t.requests, "bad_lines": t.bad_lines, "blank_lines": t.blank_lines,
        "input_tokens": t.input_tokens, "input_cost": decimal_text(t.input_cost),
        "low": scenario(t.low), "expected": scenario(t.expected), "high": scenario(t.high),
        "currency": t.currency, "exact": t.exact, "models": dict(sorted(t.models.items())),
        "expected_from": dict(sorted(t.expected_sources.items())),
        "requests_with_warnings": t.with_warnings,
    }


def _print_batch(source: str, shown: list[Any], t: Any, stream: IO[str]) -> None:
    from rich.table import Table

    console = output.console(stream, width=110, highlight=False)
    if shown:
        rows = Table(title=f"{source}: first {len(shown)} of {t.requests:,} requests"
                     if t.requests > len(shown) else f"{source}: {t.requests:,} requests",
                     show_edge=False)
        for column in ("line", "custom_id", "model", "input tokens", "input cost",
                       "expected total", "high total"):
            rows.add_column(column, justify="right" if column not in ("custom_id", "model")
                            else "left")
        for item in shown:
            e = item.estimate
            rows.add_row(str(item.line), item.custom_id or "", e.model, f"{e.input_tokens:,}",
                         _money(e.input_cost), _money(e.expected.total_cost),
                         _money(e.high.total_cost))
        console.print(rows)
    table = Table(title="totals", show_edge=False)
    table.add_column("")
    for name in ("low", "expected", "high"):
        table.add_column(name, justify="right")
    scenarios = (t.low, t.expected, t.high)
    table.add_row("output tokens", *(f"{s.output_tokens:,}" for s in scenarios))
    table.add_row("reasoning tokens", *(f"{s.reasoning_tokens:,}" for s in scenarios))
    table.add_row("search calls", *(f"{s.search_calls:,}" for s in scenarios))
    _money_rows(table, scenarios)
    console.print(table)
    expected = ", ".join(f"{n:,} from {k}" for k, n in sorted(t.expected_sources.items()))
    console.print(
        f"{t.requests:,} requests, {t.input_tokens:,} prompt tokens "
        f"({'exact' if t.exact else 'approximate'}), currency {t.currency}; "
        f"expected: {expected or '-'}; {t.with_warnings:,} with warnings; "
        f"{_count(t.bad_lines, 'bad line')} skipped", soft_wrap=True,
    )
    console.print("per-request assumptions: see --format json")
