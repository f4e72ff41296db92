"""The monthly report as one self-contained HTML page: text, tables, embedded charts.

Offline by construction: plotly.js is inlined once, every figure is a JSON block drawn by a
small script, and a Content-Security-Policy allows only those exact scripts (by hash) and no
network at all. Every user-controlled string has its secrets masked, is HTML-escaped with its
control characters written out (`h`, in `costkit.report.markup`), escaped again for plotly in
the figures, and the JSON blocks cannot close their <script> element. The page's tables are in
`costkit.report.tables`.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from decimal import Decimal
from importlib import resources

import plotly.io as pio
import plotly.offline

from costkit.core.format import compact, count, exact, money, pct, signed_money, signed_pct, when
from costkit.core.safe_output import masked
from costkit.core.version import __version__
from costkit.report.budgets import budget_section
from costkit.report.data import (
    COMPONENTS,
    GROUPINGS,
    PLURALS,
    MonthlyReport,
    next_month,
    previous_month,
)
from costkit.report.explain import anomalies, what_changed
from costkit.report.figures import COLORS, build_figures, concentration_bands
from costkit.report.markup import _chart, _days, _plural, _title, h, script_json
from costkit.report.tables import (
    _cards,
    _data_quality,
    _group_table,
    _top_requests,
    aggregate_note,
)


def _asset(name: str) -> str:
    return resources.files("costkit.report").joinpath("assets", name).read_text("utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def render_page(report: MonthlyReport) -> str:
    """The whole page as a string."""
    report = masked(report)  # key ids and raw rejects of stores written before masking
    figures = build_figures(report)
    status_js, render_js = _asset("status.js"), _asset("render.js")
    plotly_js = plotly.offline.get_plotlyjs()
    csp = "; ".join([
        "default-src 'none'",
        "script-src " + " ".join(_sha256(s) for s in (status_js, plotly_js, render_js)),
        "style-src 'unsafe-inline'",
        "img-src data: blob:",
        "font-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])
    blocks = "\n".join(
        f'<script type="application/json" id="fig-{name}-data">'
        f"{script_json(pio.to_json(fig, validate=False, engine='json'))}</script>"
        for name, fig in figures.items()
    )
    title = f"Spend report, {report.label}"
    body = "\n".join([
        _header(report),
        '<div id="page-problems" class="notice bad" hidden></div>',
        _coverage_notice(report),
        _headline(report),
        _notices(report),
        budget_section(report.budgets),
        what_changed(report),
        anomalies(report),
        _daily(report, figures),
        _groups(report, figures),
        _concentration(report, figures),
        _top_requests(report),
        _data_quality(report),
        _cards(report),
        _footer(report),
    ])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="costkit {h(costkit_version())}">
<title>{h(title)}</title>
<style>
{_asset("report.css")}</style>
<script>{status_js}</script>
<script>{plotly_js}</script>
</head>
<body>
<main>
{body}
</main>
{blocks}
<script>{render_js}</script>
</body>
</html>
"""


def costkit_version() -> str:
    return __version__


# --- sections ------------------------------------------------------------------------------

def _header(report: MonthlyReport) -> str:
    source = f" Store: <code>{h(report.source)}</code>." if report.source else ""
    return f"""<header>
<h1>LLM API spend, {h(report.label)}</h1>
<p>{h(_period(report))}, time zone {h(report.tz)}. {h(_status(report))}{source}
Generated {h(when(report.generated_at, report.tz, False))} ({h(report.tz)}).</p>
</header>"""


def _status(report: MonthlyReport) -> str:
    """Where the data ends, and so whether the month is complete."""
    cov = report.coverage
    up_to = f"usage up to {when(cov.data_end, report.tz, False)}"
    if cov.complete:
        return (f"The month is complete. The store's usage runs to "
                f"{when(cov.data_end, report.tz, False)}.")
    if cov.over:
        return (f"The month is not complete: {up_to}, so its last "
                f"{_plural(cov.missing, 'day has', 'days have')} no data.")
    return f"The month is not over: {up_to}."


def _period(report: MonthlyReport) -> str:
    last = next_month(report.month).toordinal() - 1
    return f"{report.month:%Y-%m-%d} to {datetime.fromordinal(last):%Y-%m-%d}"


def _headline(report: MonthlyReport) -> str:
    hl = report.headline
    cur = hl.currency
    prev_label = previous_month(report.month).strftime("%B %Y")
    total_note = "all usage priced" if hl.complete else (
        f"priced usage only; {count(hl.requests - hl.priced_requests)} requests unpriced")
    if not report.coverage.complete:
        total_note += f"; {_days(report.month, report.coverage.covered)} only"
    change_name = f"Change vs {prev_label}"
    if hl.change_basis == "same days":
        prev_label = _days(previous_month(report.month), hl.compared_days)
        change_name = f"Change vs {prev_label}"
    if hl.change is not None:
        direction = "up" if hl.change > 0 else "down" if hl.change < 0 else ""
        change_value = f'<span class="{direction}">{h(signed_money(hl.change, cur))}</span>'
        basis = {"projected": "projected total ",
                 "same days": f"{_days(report.month, hl.compared_days)} "}.get(
            hl.change_basis, "")
        change_note = (f"{h(signed_pct(hl.change_pct))}: {h(basis)}vs "
                       f"{h(money(hl.previous_total, cur))} in {h(prev_label)}")
        if hl.change_basis == "same days":
            change_note += ", the same days"
        if not (hl.complete and hl.previous_complete):
            change_note += " (priced usage only)"
        if hl.previous_data_from is not None:
            change_note += (f"; the store's usage begins {hl.previous_data_from:%Y-%m-%d}, "
                            "so that side is short of days")
    elif report.previous_row is None:
        change_value, change_note = "n/a", f"no usage in {h(prev_label)}"
    elif hl.previous_total is None:
        change_value, change_note = "n/a", f"no priced usage in {h(prev_label)}"
    else:
        change_value, change_note = "n/a", "nothing priced this month"
    row = report.month_row
    cards = [
        ("Total spend", h(money(hl.total, cur)), h(total_note), exact(hl.total, cur)),
        (change_name, change_value, change_note,
         exact(hl.change, cur) if hl.change is not None else ""),
        ("Requests", h(count(hl.requests)),
         f"{h(compact(row['input_tokens']))} input, "
         f"{h(compact(row['output_tokens'] + row['reasoning_tokens']))} output tokens", ""),
        ("Cost per 1,000 requests", h(money(hl.cost_per_1k, cur)),
         "over priced requests", exact(hl.cost_per_1k, cur) if hl.cost_per_1k else ""),
        ("Reasoning", h(pct(hl.reasoning_share)), "of output spend (reasoning + answer)", ""),
        ("Web search", h(money(hl.search_cost, cur)), f"{h(count(hl.search_calls))} calls",
         exact(hl.search_cost, cur)),
    ]
    cards += _cache_card(report)
    if report.forecast is not None:
        f = report.forecast
        cards.append(("Projected month total", h(money(f.projected_total, cur)),
                      f"forecast; 80% range {h(money(f.low_80, cur))} to "
                      f"{h(money(f.high_80, cur))}", exact(f.projected_total, cur)))
    items = "\n".join(
        f'<div class="figure-card"><div class="name">{h(name)}</div>'
        f'<div class="value"{_title(tip)}>{value}</div><div class="note">{note}</div></div>'
        for name, value, note, tip in cards
    )
    return f'<section class="headline" id="headline">\n{items}\n</section>'


def _cache_card(report: MonthlyReport) -> list[tuple[str, str, str, str]]:
    """Cache savings in money, for the models whose card discounts cached input (a card
    that bills it at the full rate saves nothing, so no cache figure is shown for it)."""
    savings = report.cache_savings
    if not savings:
        return []
    cur = report.headline.currency
    known = [s for s in savings if s.saved is not None]
    unknown = [s.model + " (" + s.why_not + ")" for s in savings if s.saved is None]
    if not known:
        return [("Cache savings", "n/a", h("not computed: " + "; ".join(unknown)), "")]
    saved = sum((s.saved for s in known if s.saved is not None), Decimal(0))
    tokens = sum(s.cached_tokens for s in known)
    note = (f"{compact(tokens)} cached input tokens, against the input rate"
            + (f"; not computed for {'; '.join(unknown)}" if unknown else ""))
    return [("Cache savings", h(money(saved, cur)), h(note), exact(saved, cur))]


def _coverage_notice(report: MonthlyReport) -> str:
    """Above the figures: a month whose data stops early, or a running month gone stale."""
    cov = report.coverage
    up_to = f"{h(when(cov.data_end, report.tz, False))} ({h(report.tz)})"
    if cov.over and not cov.complete:
        return (
            f'<div class="notice" id="partial-month"><strong>Partial month:</strong> the store '
            f"has usage up to {up_to}, {_plural(cov.missing, 'day', 'days')} short of the "
            f"month's end. Every figure covers {h(_days(report.month, cov.covered))} only; "
            "the days after show no data, not $0. Ingest the rest of the month's logs and "
            "make the report again.</div>")
    if not cov.over and cov.stale:
        return (
            f'<div class="notice" id="partial-month"><strong>Stale data:</strong> the store '
            f"has usage up to {up_to} only: is ingestion running? The rest of the month is "
            "not projected.</div>")
    return ""


def _notices(report: MonthlyReport) -> str:
    out = []
    if report.unpriced.height:
        models = ", ".join(sorted({str(m) for m in report.unpriced["model"].to_list()}))
        requests = int(report.unpriced["requests"].sum())
        out.append(
            f'<div class="notice bad"><strong>Unpriced usage:</strong> {count(requests)} '
            f"requests of {h(models)} have no price in effect, so they are not in the money "
            'figures. See <a href="#data-quality">Data quality</a>; add a price card with '
            "<code>--prices</code>.</div>")
    if report.rejects.total:
        out.append(
            '<div class="notice"><strong>'
            f"{_plural(report.rejects.total, 'rejected record', 'rejected records')}</strong> "
            "could not be read and are not counted. See "
            '<a href="#data-quality">Data quality</a>.</div>')
    return "\n".join(out)


def _daily(report: MonthlyReport, figures: dict) -> str:
    if report.projection is not None:
        extra = ("Grey bars: the rest of the month as forecast by <code>costkit forecast"
                 "</code>, with each day's 80% range in the hover.")
    elif not report.over:
        extra = ("The month is not over; the remaining days are not drawn: "
                 + h("; ".join(report.notes) or "no forecast is available") + ".")
    else:
        extra = ""
    cov = report.coverage
    if cov.over and not cov.complete:
        extra += (f" The shaded days after {h(f'{cov.last_covered():%d %B}'.lstrip('0'))} have "
                  "no data: the store's usage ends there.")
    return f"""<section id="daily">
<h2>Daily spend</h2>
<p class="lead">Each day ({h(report.tz)}) stacked by what was paid for. Hover for exact
amounts. {extra}</p>
{_chart("daily", figures)}
</section>"""


def _groups(report: MonthlyReport, figures: dict) -> str:
    parts = []
    for dim, name in GROUPINGS.items():
        frame = report.groups[dim]
        shown = int(frame["keys"].sum())
        what = PLURALS[dim] if shown != 1 else name if dim == "api_key" else name.lower()
        heading = f"By {name if dim == 'api_key' else name.lower()}"
        if frame.height == 1:
            # One bar is not a chart: say it.
            row = frame.row(0, named=True)
            key = row[dim] if row[dim] is not None else "(none)"
            parts.append(f"""<div>
<h3>{h(heading)}</h3>
<p class="lead single" id="by-{dim.replace('_', '-')}-single">One {h(what)}:
<strong>{h(key)}</strong>, {h(money(row['total_cost'], report.headline.currency))}, all of
the month's priced spend ({count(row['requests'])} requests).</p>
<details><summary>Table</summary>{_group_table(report, dim)}</details>
</div>""")
            continue
        folded = frame.filter(frame["keys"] > 1)
        note = (f" The top {count(frame.height - 1)}, the other {count(int(folded['keys'][0]))}"
                " summed as “other”." if folded.height else "")
        parts.append(f"""<div>
<h3>{h(heading)}</h3>
<p class="lead">{count(shown)} {h(what)}.{note}</p>
{_chart(f"by-{dim.replace('_', '-')}", figures)}
<details><summary>Table</summary>{_group_table(report, dim)}</details>
</div>""")
    legend = " ".join(
        f'<span><span class="swatch" style="background:{COLORS[c]}"></span>{h(label)}</span>'
        for c, label in COMPONENTS.items())
    return f"""<section id="groups">
<h2>Where the money went</h2>
<p class="lead">Bars stacked by component: {legend}</p>
<div class="grid2">
{chr(10).join(parts)}
</div>
</section>"""


def _concentration(report: MonthlyReport, figures: dict) -> str:
    bands = concentration_bands(report)
    cur = report.headline.currency
    if not bands:
        return """<section id="distribution"><h2>Cost per request</h2>
<p class="lead">No priced request this month: there is no distribution to show.</p></section>"""
    top = bands[0]
    summary = (f"The most expensive {count(top['requests'])} requests "
               f"({h(pct(top['request_share'], 2))} of priced requests) "
               f"cost {h(money(top['cost'], cur))}: "
               f"<strong>{h(pct(top['spend_share']))} of the month's spend</strong>.")
    quantiles = {round(q, 4): c for q, c in report.quantiles.iter_rows()}
    marks = ", ".join(f"{label} {h(money(quantiles[q], cur))}"
                      for q, label in ((0.5, "median"), (0.9, "p90"), (0.99, "p99"),
                                       (1.0, "max")) if q in quantiles)
    return f"""<section id="distribution">
<h2>Where the money concentrates</h2>
<p class="lead">{summary} Cost per request: {marks}.{aggregate_note(report)}</p>
<div class="grid2">
<div><h3>Cost per request by percentile</h3>{_chart("cost-quantiles", figures)}</div>
<div><h3>Share of requests vs share of spend</h3>{_chart("concentration", figures)}</div>
</div>
</section>"""


def _footer(report: MonthlyReport) -> str:
    since = f"{report.month:%Y-%m-%d}"
    until = f"{next_month(report.month):%Y-%m-%d}"
    return f"""<footer>
<p>Made by costkit {h(costkit_version())}. Costs are computed from the stored token counts and
the price cards above with exact decimal arithmetic, and shown rounded (hover or point at an
amount for every digit). The same figures, from the command line:
<code>costkit report --by month --since {since} --until {until} --tz {h(report.tz)}</code>.
This page is self-contained and makes no network request.</p>
</footer>"""
