"""The monthly report as one self-contained HTML page: text, tables, embedded charts.

Offline by construction: plotly.js is inlined once, every figure is a JSON block drawn by a
small script, and a Content-Security-Policy allows only those exact scripts (by hash) and no
network at all. Every user-controlled string has its secrets masked, is HTML-escaped with its
control characters written out (`h`), escaped again for plotly in the figures, and the JSON
blocks cannot close their <script> element.
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
from costkit.core.safe_output import html_text, masked
from costkit.core.version import __version__
from costkit.pricing.cards import Card
from costkit.report.figures import COLORS, build_figures, concentration_bands
from costkit.report.monthly import (
    COMPONENTS,
    GROUPINGS,
    TOP_ROWS,
    MonthlyReport,
    next_month,
    previous_month,
)

RAW_LIMIT = 240
_PLURALS = {"project": "projects", "model": "models", "api_key": "API keys",
            "endpoint": "endpoints"}
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def h(value: object) -> str:
    """Text for HTML (element content and quoted attributes), control characters written
    out (safe_output.html_text)."""
    return html_text(value)


def script_json(text: str) -> str:
    """JSON text safe inside <script type=application/json>: no `</script>`, no `<!--`."""
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text) if _needs_escape(text) else text


def _needs_escape(text: str) -> bool:
    return any(ch in text for ch in _JSON_ESCAPES)


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
        ("Cache hits", h(pct(hl.cache_hit_share)),
         f"of input tokens ({h(compact(row['cached_input_tokens']))} of "
         f"{h(compact(row['input_tokens']))})", ""),
        ("Reasoning", h(pct(hl.reasoning_share)), "of output spend (reasoning + answer)", ""),
        ("Web search", h(money(hl.search_cost, cur)), f"{h(count(hl.search_calls))} calls",
         exact(hl.search_cost, cur)),
    ]
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


def _title(text: str) -> str:
    return f' title="exact: {h(text)}"' if text else ""


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
        what = _PLURALS[dim] if shown != 1 else name if dim == "api_key" else name.lower()
        heading = f"By {name if dim == 'api_key' else name.lower()}"
        note = (f" The top {TOP_ROWS[dim]}, the rest summed as “other”."
                if frame.height > TOP_ROWS[dim] else "")
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


def _group_table(report: MonthlyReport, dim: str) -> str:
    frame = report.groups[dim]
    cur = report.headline.currency
    total = report.headline.total
    rows = []
    for row in frame.iter_rows(named=True):
        share = (row["total_cost"] / total) if total and row["total_cost"] is not None else None
        folded = row["keys"] > 1
        css = ' class="other"' if folded else ""
        rows.append(
            f"<tr{css}><td>{h(row[dim] if row[dim] is not None else '(none)')}</td>"
            f'<td class="num">{count(row["requests"])}</td>'
            f'<td class="num">{count(row["input_tokens"])}</td>'
            f'<td class="num">{count(row["output_tokens"] + row["reasoning_tokens"])}</td>'
            f'<td class="num"{_title(exact(row["total_cost"], cur))}>'
            f"{h(money(row['total_cost'], cur))}</td>"
            f'<td class="num">{h(pct(share))}</td>'
            f'<td class="num">{count(row["unpriced_requests"]) if row["unpriced_requests"] else ""}'
            "</td></tr>")
    return _table([GROUPINGS[dim], "requests", "input tokens", "output tokens", "spend",
                   "share", "unpriced requests"], rows, numeric_from=1)


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
<p class="lead">{summary} Cost per request: {marks}.</p>
<div class="grid2">
<div><h3>Cost per request by percentile</h3>{_chart("cost-quantiles", figures)}</div>
<div><h3>Share of requests vs share of spend</h3>{_chart("concentration", figures)}</div>
</div>
</section>"""


def _top_requests(report: MonthlyReport) -> str:
    frame = report.top_requests
    cur = report.headline.currency
    shown = [c for c in COMPONENTS if c in ("input_cost", "output_cost") or any(
        v not in (None, 0) for v in frame[c].to_list())]
    rows = []
    for i, row in enumerate(frame.iter_rows(named=True), 1):
        tokens = (f"{count(row['input_tokens'])} in ({count(row['cached_input_tokens'])} cached)"
                  f"<br>{count(row['output_tokens'])} out, "
                  f"{count(row['reasoning_tokens'] or 0)} reasoning"
                  + (f"<br>{_plural(row['search_calls'], 'search', 'searches')}"
                     if row["search_calls"] else ""))
        cells = [
            f'<td class="num">{i}</td>',
            f"<td>{h(when(row['ts'], report.tz))}</td>",
            f'<td class="id"><code>{h(row["request_id"])}</code></td>',
            f"<td>{h(_or_none(row['project']))}<br><small>{h(row['model'])}</small></td>",
            f"<td>{h(_or_none(row['endpoint']))}<br><small>{h(_or_none(row['api_key']))}"
            "</small></td>",
            f'<td class="tokens">{tokens}</td>',
            f'<td class="num"{_title(exact(row["total_cost"], cur))}><strong>'
            f"{h(money(row['total_cost'], cur))}</strong></td>",
        ]
        cells += [f'<td class="num"{_title(exact(row[c], cur))}>{h(money(row[c], cur))}</td>'
                  for c in shown]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    headers = ["#", f"time ({report.tz})", "request id", "project / model",
               "endpoint / API key", "tokens", "total", *[COMPONENTS[c].lower() for c in shown]]
    return f"""<section id="top-requests">
<h2>The {count(frame.height)} most expensive requests</h2>
<p class="lead">Hover an amount for its exact value. Ids are the provider's (or a hash of the
record when it had none), to find the call in your own logs.</p>
<div class="scroll">{_table(headers, rows, numeric_from=5, first_numeric=True)}</div>
</section>"""


def _data_quality(report: MonthlyReport) -> str:
    rejects = report.rejects
    if rejects.total:
        explain = (
            f"<strong>{_plural(rejects.total, 'rejected record', 'rejected records')}</strong> "
            "could not be read and are not in any figure above. "
            f"{_plural(rejects.by_time, 'is', 'are')} counted here because the record states "
            f"a time in this month; {_plural(rejects.by_ingest, 'has', 'have')} no readable "
            "time and come from ingests that also loaded this month's usage (they appear in the "
            "report of every month those ingests cover). List them all with "
            "<code>costkit rejects</code>.")
        reasons = [
            f"<tr><td>{h(r['reason'])}</td><td class=\"num\">{count(r['by_time'])}</td>"
            f"<td class=\"num\">{count(r['by_ingest'])}</td>"
            f"<td class=\"num\">{count(r['total'])}</td></tr>"
            for r in rejects.by_reason.iter_rows(named=True)]
        samples = [
            f"<tr><td><code>{h(r['source_file'])}:{h(r['line'])}</code></td>"
            f"<td>{h(r['format'])}</td><td>{h(r['reason'])}</td>"
            f'<td class="raw"><code>{h(_cut(r["raw"]))}</code></td></tr>'
            for r in rejects.samples.iter_rows(named=True)]
        reject_html = (
            f"<p>{explain}</p>"
            + _table(["reason", "by record time", "by ingest", "total"], reasons, numeric_from=1)
            + f"<details><summary>The first {count(len(samples))} rejected records</summary>"
            + '<div class="scroll">'
            + _table(["file:line", "format", "reason", "raw record"], samples)
            + "</div></details>")
    else:
        reject_html = "<p>No rejected records for this month.</p>"
    if report.unpriced.height:
        rows = [
            f"<tr><td>{h(r['model'])}</td><td>{h(r['reason'])}</td>"
            f'<td class="num">{count(r["requests"])}</td>'
            f'<td class="num">{count(r["input_tokens"])}</td>'
            f'<td class="num">{count(r["output_tokens"] + r["reasoning_tokens"])}</td>'
            f'<td class="num">{count(r["search_calls"])}</td>'
            f"<td>{h(when(r['first_ts'], report.tz, False))}</td>"
            f"<td>{h(when(r['last_ts'], report.tz, False))}</td></tr>"
            for r in report.unpriced.iter_rows(named=True)]
        unpriced_html = (
            "<p>Usage the price cards cannot price. Its tokens are kept; its cost is shown as "
            "unpriced, never as $0. Add or correct a card (<code>--prices</code>) and the same "
            "usage is priced on the next report.</p>"
            + _table(["model", "reason", "requests", "input tokens", "output tokens",
                      "searches", "first", "last"], rows, numeric_from=2))
    else:
        unpriced_html = "<p>All usage of the month was priced.</p>"
    return f"""<section id="data-quality">
<h2>Data quality</h2>
<h3>Rejected records</h3>
{reject_html}
<h3>Unpriced usage</h3>
{unpriced_html}
</section>"""


def _cards(report: MonthlyReport) -> str:
    rows = [_card_row(card) for card in report.cards]
    if not rows:
        return """<section id="price-cards"><h2>Price cards used</h2>
<p>No price card was in effect for this month's models.</p></section>"""
    headers = ["model", "effective from", "effective to", "input", "cached input",
               "cache write", "output", "reasoning", "web search", "currency", "source"]
    return f"""<section id="price-cards">
<h2>Price cards used</h2>
<p class="lead">The cards in effect during the month for the models used: per 1M tokens,
web search per call. A request is priced by the card in effect at its time.</p>
<div class="scroll">{_table(headers, rows)}</div>
</section>"""


def _card_row(card: Card) -> str:
    def rate(value: Decimal | None) -> str:
        return "-" if value is None else exact(value, card.currency)

    start = card.effective_from.strftime("%Y-%m-%d %H:%M UTC") if card.effective_from else "always"
    end = card.effective_to.strftime("%Y-%m-%d %H:%M UTC") if card.effective_to else "open"
    origin = "built-in" if card.builtin else card.origin
    r = card.rates
    tiers = "".join(f"<br>above {t.above_input_tokens:,} input tokens: input "
                    f"{h(rate(t.rates.input))}, output {h(rate(t.rates.output))}"
                    for t in card.tiers)
    return (f'<tr><td class="nowrap">{h(card.model)}{tiers}</td>'
            f"<td>{h(start)}</td><td>{h(end)}</td>"
            + "".join(f'<td class="num">{h(rate(v))}</td>' for v in (
                r.input, r.cached_input, r.cache_write, r.output, r.reasoning, r.web_search))
            + f"<td>{h(card.currency)}</td><td>{h(origin)}"
            + (f"<br><small>{h(card.source)}</small>" if card.source else "") + "</td></tr>")


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


# --- small pieces --------------------------------------------------------------------------

def _chart(name: str, figures: dict) -> str:
    if name not in figures:
        return '<p class="lead">Nothing to draw.</p>'
    return (f'<div class="chart" id="fig-{name}" data-figure="fig-{name}-data" '
            f'role="img" aria-label="{h(name.replace("-", " "))} chart"></div>')


def _table(headers: list[str], rows: list[str], numeric_from: int | None = None,
           first_numeric: bool = False) -> str:
    cells = []
    for i, name in enumerate(headers):
        numeric = (numeric_from is not None and i >= numeric_from) or (first_numeric and i == 0)
        cells.append(f'<th{" class=num" if numeric else ""}>{h(name)}</th>')
    return (f"<table><thead><tr>{''.join(cells)}</tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table>")


def _days(month, n: int | None) -> str:
    """The first `n` days of a month, e.g. '1-24 November 2026' ('1 November 2026')."""
    first = month.strftime("%B %Y")
    return f"1 {first}" if n == 1 else f"1\u2013{n} {first}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _or_none(value: object) -> str:
    return "(none)" if value is None else str(value)


def _cut(raw: str | None) -> str:
    if raw is None:
        return ""
    return raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "\u2026"

