"""`costkit ingest`: usage logs into the store (`costkit rejects` lists what it set aside)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors, warn
from costkit.cli.options import (
    Db,
    FormatTableJson,
    LedgerReasoning,
    Prices,
    TableJson,
    Zone,
    helped,
)

IngestTz = helped(Zone, "CSV: the zone of times written without one (default UTC).")
IngestFormat = helped(FormatTableJson, "Summary format; json prints one object with the "
                                       "integer keys read, inserted, duplicates, rejected.")
FORMATS = "{formats}"  # filled in by IngestCommand when help is shown


class CsvReasoning(StrEnum):
    in_output = "in-output"
    separate = "separate"


class IngestCommand(TyperCommand):
    """`ingest`, whose help lists the readers' formats: they are read from costkit.readers
    only when the help is shown, as loading the readers loads DuckDB and Arrow."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from costkit.readers import format_names

        for param in self.params:
            if param.help and FORMATS in param.help:
                param.help = param.help.replace(FORMATS, ", ".join(format_names()))
        super().format_help(ctx, formatter)


@handle_errors
def ingest_command(
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="PATH", show_default=False,
        help="Log files, directories (read recursively), .gz files, or - for stdin.")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="NAME", show_default=False,
        help=f"Read every record as this format instead of detecting it per record: "
             f"{FORMATS}.")] = None,
    project: Annotated[str | None, typer.Option(
        "--project", metavar="NAME", show_default=False,
        help="Project of records that do not name one (an envelope's project wins).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="NAME=VALUE", show_default=False,
        help="Tag every record (repeatable; an envelope's tag of the same name wins).")] = None,
    fmt: IngestFormat = TableJson.table,
    ledger_reasoning: Annotated[LedgerReasoning | None, typer.Option(
        "--ledger-reasoning", show_default=False,
        help="Gateway ledger: in-output (default): tokens.output includes reasoning, stored "
             "whole and billed as output; from-total: reasoning is tokens.total - input - "
             "output.")] = None,
    csv_map: Annotated[list[str] | None, typer.Option(
        "--map", metavar="FIELD=COLUMN", show_default=False,
        help="CSV: the column holding a field (repeatable): ts, request_id, model, "
             "input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, "
             "reasoning_tokens, search_calls, project, user, api_key_id, billed_cost, "
             "billed_currency, endpoint, provider, status, tag:NAME. Columns named like a "
             "field are found without it.")] = None,
    map_name: Annotated[str | None, typer.Option(
        "--map-name", metavar="NAME", show_default=False,
        help="CSV: start from the mapping saved as NAME (the options given override "
             "it).")] = None,
    save_map: Annotated[str | None, typer.Option(
        "--save-map", metavar="NAME", show_default=False,
        help="CSV: after a successful ingest, save this run's mapping (--map, --model, "
             "--tz, --delimiter, --csv-reasoning) as NAME.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", metavar="NAME", show_default=False,
        help="CSV: the model of rows with no model column or an empty one.")] = None,
    tz: IngestTz = None,
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", metavar="CHAR", show_default=False,
        help="CSV: the field separator (default: found on the header line among , ; tab "
             "|).")] = None,
    csv_reasoning: Annotated[CsvReasoning | None, typer.Option(
        "--csv-reasoning", show_default=False,
        help="CSV with output and reasoning columns: in-output (default): output includes "
             "reasoning, as providers count it; separate: output is the visible answer "
             "only.")] = None,
    claude_code: Annotated[bool, typer.Option(
        "--claude-code", show_default=False,
        help="Also read Claude Code's session logs: $CLAUDE_CONFIG_DIR/projects, else "
             "~/.config/claude/projects and ~/.claude/projects.")] = False,
    codex: Annotated[bool, typer.Option(
        "--codex", show_default=False,
        help="Also read Codex CLI's session logs: $CODEX_HOME/sessions, else "
             "~/.codex/sessions.")] = False,
    db: Db = None,
    prices_path: Prices = None,
) -> None:
    """Ingest usage logs into the store: formats detected per record, duplicates skipped,
    bad records set aside (see `costkit rejects`), all in one transaction. Gateway ledgers
    (usage_event), OTLP JSON span exports, API usage pages and exports, Codex sessions and
    CSV files (*.csv, *.tsv) are recognised by file."""
    from costkit.ingest.run import ingest, parse_tags
    from costkit.readers import agent_log_folders, mappings

    tags = parse_tags(tag or [])
    paths = list(paths or []) + [str(p) for p in agent_log_folders(claude_code, codex)]
    if not paths:
        raise fail("nothing to read: give PATH (files, directories, - for stdin), "
                   "--claude-code or --codex")
    if "-" in paths and sys.stdin.isatty():
        raise fail("- reads stdin, but stdin is a terminal; pipe a log into it")
    csv_options = (csv_map, map_name, save_map, model, tz, delimiter, csv_reasoning)
    mapping = None
    if any(option is not None for option in csv_options):
        mapping = mappings.build(csv_map or [], map_name, model, tz, delimiter,
                                 csv_reasoning.value if csv_reasoning else None)
    with output.progress("reading") as bar:
        summary = ingest(paths, db=db, prices=prices_path, input_format=input_format,
                         project=project, tags=tags, progress=bar.update if bar else None,
                         ledger_reasoning=ledger_reasoning.value if ledger_reasoning else None,
                         csv_mapping=mapping)
    if save_map is not None and mapping is not None:
        saved = mappings.save(save_map, mapping)
        typer.echo(f"costkit: saved the CSV mapping as {save_map!r} in {saved}; reuse it "
                   f"with --map-name {save_map}", err=True)
    output.emit(fmt, json_value=summary.as_dict() if fmt == "json" else None,
                table=lambda stream: _print_summary(summary, stream))
    for model, n in summary.unpriced.items():
        warn(f"{n:,} request{'s' if n != 1 else ''} of model {model!r} "
             f"{'are' if n != 1 else 'is'} unpriced ({_why_unpriced(model, prices_path)}): "
             "tokens are kept and costs show as unpriced; add a card with --prices")
    if summary.rejected:
        warn(f"{summary.rejected:,} record{'s' if summary.rejected != 1 else ''} rejected; "
             f"see `costkit rejects --ingest {summary.ingest_id}`")
    if summary.conflicts:
        n = summary.conflicts
        warn(f"{n:,} record{'s' if n != 1 else ''} set aside as conflicts (an id already read "
             f"with other values); see `costkit rejects --ingest {summary.ingest_id}`")
    if summary.search_unknown:
        n = summary.search_unknown
        warn(f"{n:,} request{'s' if n != 1 else ''} enabled web search but report no search "
             "count: stored as unknown (reports say 'search not reported'), not as $0")
    for path in summary.repeated_paths:
        warn(f"{path}: names a file already read in this run; read once")
    for path, why in summary.unread:
        warn(f"{path}: {why}; not read")
    if summary.unread:
        n = len(summary.unread)
        raise fail(f"{n} input{'s' if n != 1 else ''} could not be read (listed above); the "
                   "rest was ingested", 1)


def _print_summary(s: Any, stream: Any) -> None:
    files = f"{s.files:,} file{'s' if s.files != 1 else ''}"
    stream.write(f"ingest {s.ingest_id}: {s.read:,} records read from {files} in "
                 f"{s.seconds:.1f} s\n")
    rows = [("inserted", s.inserted), ("duplicates", s.duplicates)]
    if s.conflicts:
        rows.append(("conflicts (an id already read with other values: set aside)", s.conflicts))
    rows.append(("rejected", s.rejected))
    if s.skipped:
        rows.append(("lines skipped (stream events, SSE control lines)", s.skipped))
    if s.skipped_records:
        rows.append(("spans skipped (no GenAI usage of their own)", s.skipped_records))
    width = max(len(f"{n:,}") for _, n in rows)
    for label, n in rows:
        stream.write(f"  {n:>{width},}  {label}\n")


def _why_unpriced(model: str, prices_path: Any) -> str:
    """Why a logged name is unpriced: ambiguous (with the candidates), or no card in effect."""
    from costkit.core.errors import CostkitError
    from costkit.pricing.book import load_price_book
    from costkit.pricing.names import AmbiguousModelError

    try:
        load_price_book(prices_path).cards_for(model)
    except AmbiguousModelError as exc:
        return str(exc)
    except CostkitError:
        pass
    return "no price card in effect at their time"
