"""The `costkit` command: the Typer app and every command on it, registered here by name.

Each command lives in its own module (costkit/cli/<command>.py) as a plain function; nothing
registers itself by being imported. The command modules import only typer and their option
declarations at load time, so `costkit --help` and a small command load no DuckDB, polars or
Arrow; each command imports what it runs when it runs.
"""

from __future__ import annotations

import typer

from costkit.cli import (
    audit,
    budget,
    count,
    demo,
    estimate,
    export,
    forecast,
    ingest,
    prices,
    rejects,
    report,
    report_monthly,
)

app = typer.Typer(
    name="costkit",
    help="Price LLM API calls before they are sent; explain, forecast and audit spend after.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

app.command("audit")(audit.audit)
app.command("count")(count.count)
app.command("demo")(demo.demo)
app.command("estimate")(estimate.estimate_command)
app.command("export")(export.export)
app.command("forecast")(forecast.forecast)
app.command("ingest", cls=ingest.IngestCommand)(ingest.ingest_command)
app.command("rejects")(rejects.rejects_command)

prices_app = typer.Typer(help=prices.HELP, invoke_without_command=True)
prices_app.callback()(prices.prices)
prices_app.command("show")(prices.show)
prices_app.command("diff")(prices.diff)
app.add_typer(prices_app, name="prices")

budget_app = typer.Typer(help=budget.HELP, no_args_is_help=True)
budget_app.command("check")(budget.check)
app.add_typer(budget_app, name="budget")

report_app = typer.Typer(help=report.HELP, invoke_without_command=True)
report_app.callback()(report.report)
report_app.command("monthly")(report_monthly.monthly)
app.add_typer(report_app, name="report")


def main() -> None:
    app(prog_name="costkit")
