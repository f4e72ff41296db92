"""The monthly report's plotly figures, built from a `MonthlyReport`.

Chart geometry needs floats, so amounts become floats here and only here; every hover also
carries the exact Decimal as text. Every user-controlled string goes through `plot_text`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go
import polars as pl

from costkit.core.format import exact, money, pct, plot_text
from costkit.core.timezones import zone
from costkit.report.data import COMPONENTS, GROUPINGS, MonthlyReport

COLORS = {
    "input_cost": "#4C78A8",
    "cached_input_cost": "#9ECAE9",
    "cache_write_cost": "#72B7B2",
    "output_cost": "#F58518",
    "reasoning_cost": "#E45756",
    "search_cost": "#54A24B",
}
LABEL_LIMIT = 38
GRID = "#e6e9ec"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def build_figures(report: MonthlyReport) -> dict[str, go.Figure]:
    """Figure id -> figure, in page order. A chart with nothing to draw is left out."""
    figures = {"daily": daily_figure(report)}
    for dim in GROUPINGS:
        if report.groups[dim].height > 1:  # one bar is said in a sentence, not drawn
            figures[f"by-{dim.replace('_', '-')}"] = group_figure(report, dim)
    quantiles = quantile_figure(report)
    if quantiles is not None:
        figures["cost-quantiles"] = quantiles
    bands = concentration_figure(report)
    if bands is not None:
        figures["concentration"] = bands
    return figures


def shown_components(frame: pl.DataFrame) -> list[str]:
    """Components worth a trace: every one that is non-zero somewhere (input and output always)."""
    keep = []
    for column in COMPONENTS:
        values = [v for v in frame[column].to_list() if v is not None]
        if column in ("input_cost", "output_cost") or any(v != 0 for v in values):
            keep.append(column)
    return keep


def daily_figure(report: MonthlyReport) -> go.Figure:
    """Spend per day stacked by component; the projected rest of the month when there is one."""
    daily = report.daily
    currency = report.headline.currency
    days = daily["day"].to_list()
    fig = go.Figure()
    for column in shown_components(daily):
        values = daily[column].to_list()
        fig.add_bar(
            name=COMPONENTS[column],
            x=days,
            y=[_float(v) for v in values],
            marker_color=COLORS[column],
            customdata=[_hover_amount(v, currency) for v in values],
            hovertemplate=f"{COMPONENTS[column]}: %{{customdata}}<extra></extra>",
        )
    totals = daily["total_cost"].to_list()
    covered = daily["covered"].to_list()
    fig.add_scatter(
        name="Day total",
        x=days,
        y=[_float(v) if c else 0.0 for v, c in zip(totals, covered, strict=True)],
        mode="markers",
        marker={"opacity": 0, "size": 1},
        showlegend=False,
        customdata=[
            [_hover_amount(v, currency) if c else "no data", f"{r:,}",
             f"; {u:,} unpriced, not included" if u else ""]
            for v, r, u, c in zip(totals, daily["requests"].to_list(),
                                  daily["unpriced_requests"].to_list(), covered, strict=True)
        ],
        hovertemplate="<b>Day total: %{customdata[0]}</b> (%{customdata[1]} requests"
                      "%{customdata[2]})<extra></extra>",
    )
    projection = report.projection
    if projection is not None and projection.height:
        fig.add_bar(
            name="Projected",
            x=projection["day"].to_list(),
            y=[_float(v) for v in projection["expected"].to_list()],
            marker={"color": "rgba(120,120,120,0.25)",
                    "line": {"color": "rgba(90,90,90,0.8)", "width": 1}},
            customdata=[
                [money(day, currency), money(lo, currency), money(hi, currency)]
                for day, lo, hi in zip(projection["day_expected"].to_list(),
                                       projection["low"].to_list(),
                                       projection["high"].to_list(), strict=True)
            ],
            hovertemplate="Projected day: %{customdata[0]} (80% range %{customdata[1]} to "
                          "%{customdata[2]})<extra></extra>",
        )
    last = report.month + timedelta(days=len(days) - 1)
    _shade_missing_days(fig, report)
    _style(fig, height=430)
    fig.update_layout(
        barmode="stack",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.12, "x": 0, "traceorder": "normal"},
        yaxis={"title": {"text": _currency_title(currency)}, "tickprefix": _prefix(currency),
               "tickformat": ",.2f", "rangemode": "tozero"},
        xaxis={"type": "date", "tickformat": "%a %-d", "hoverformat": "%a %Y-%m-%d",
               "range": [_edge(report.month, -0.6), _edge(last, 0.6)], "dtick": 86400000 * 2},
    )
    return fig


def _shade_missing_days(fig: go.Figure, report: MonthlyReport) -> None:
    """Shade the days after the store's usage ends (up to today in a month not over, and
    not those the forecast projects): they have no data, which a zero bar would hide."""
    cov = report.coverage
    projected = set(report.projection["day"].to_list()) if report.projection is not None \
        else set()
    last = cov.month + timedelta(days=cov.days - 1)
    if not cov.over:
        last = min(last, report.generated_at.astimezone(zone(report.tz)).date())
    missing = [cov.month + timedelta(days=i) for i in range(cov.covered, cov.days)]
    missing = [d for d in missing if d <= last and f"{d:%Y-%m-%d}" not in projected]
    if not missing:
        return
    fig.add_vrect(x0=_edge(missing[0], -0.5), x1=_edge(missing[-1], 0.5),
                  fillcolor="rgba(120,120,120,0.12)", line_width=0, layer="below",
                  annotation_text="no data", annotation_position="top left",
                  annotation_font={"color": "#59636e", "size": 12})


def group_figure(report: MonthlyReport, dim: str) -> go.Figure:
    """Spend per project / model / API key / endpoint, stacked by component, largest on top."""
    frame = report.groups[dim]
    currency = report.headline.currency
    labels = [plot_text(v) for v in frame[dim].to_list()]
    ticks = [plot_text(v, LABEL_LIMIT) for v in frame[dim].to_list()]
    rows = list(range(frame.height))
    totals = frame["total_cost"].to_list()
    requests = frame["requests"].to_list()
    fig = go.Figure()
    for column in shown_components(frame):
        values = frame[column].to_list()
        fig.add_bar(
            name=COMPONENTS[column],
            orientation="h",
            y=rows,
            x=[_float(v) for v in values],
            marker_color=COLORS[column],
            customdata=[
                [label, _hover_amount(v, currency), _hover_amount(t, currency), f"{r:,}"]
                for label, v, t, r in zip(labels, values, totals, requests, strict=True)
            ],
            hovertemplate=(
                f"<b>%{{customdata[0]}}</b><br>{COMPONENTS[column]}: %{{customdata[1]}}<br>"
                "Total: %{customdata[2]} · %{customdata[3]} requests<extra></extra>"
            ),
        )
    # Unpriced usage gets a visible mark at the end of its bar rather than a silent gap.
    unpriced = frame["unpriced_requests"].to_list()
    flagged = [i for i, n in enumerate(unpriced) if n]
    if flagged:
        fig.add_scatter(
            name="Unpriced",
            y=flagged,
            x=[_float(totals[i]) or 0.0 for i in flagged],
            mode="markers+text",
            text=[f"+{unpriced[i]:,} unpriced" for i in flagged],
            textposition="middle right",
            textfont={"color": "#B00020", "size": 11},
            cliponaxis=False,
            marker={"symbol": "x-thin", "color": "#B00020", "size": 8,
                    "line": {"width": 2, "color": "#B00020"}},
            customdata=[[labels[i], f"{unpriced[i]:,}"] for i in flagged],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]} requests have no price "
                          "in effect: not in the bar<extra></extra>",
        )
    _style(fig, height=max(230, 70 + 30 * frame.height))
    fig.update_layout(
        barmode="stack",
        hovermode="closest",
        showlegend=False,
        margin={"l": 10, "r": 90 if flagged else 20, "t": 32, "b": 40},
        yaxis={"tickmode": "array", "tickvals": rows, "ticktext": ticks,
               "autorange": "reversed", "automargin": True},
        xaxis={"title": {"text": _currency_title(currency)}, "tickprefix": _prefix(currency),
               "tickformat": ",.2f", "rangemode": "tozero", "automargin": True},
    )
    return fig


def quantile_figure(report: MonthlyReport) -> go.Figure | None:
    """Cost per request at each percentile (log scale): how long the expensive tail is."""
    frame = report.quantiles.filter(pl.col("cost") > 0)
    if frame.height == 0:
        return None
    currency = report.headline.currency
    levels = frame["quantile"].to_list()
    costs = frame["cost"].to_list()
    fig = go.Figure()
    fig.add_scatter(
        name="Cost per request",
        x=[q * 100 for q in levels],
        y=[_float(c) for c in costs],
        mode="lines+markers",
        line={"color": "#4C78A8", "shape": "hv"},
        marker={"size": 4},
        customdata=[[_percentile(q), money(c, currency), exact(c, currency)]
                    for q, c in zip(levels, costs, strict=True)],
        hovertemplate="%{customdata[0]}: %{customdata[1]} per request"
                      "<br>exact %{customdata[2]}<extra></extra>",
    )
    _style(fig, height=360)
    values = [float(c) for c in costs]
    lo, hi = min(values), max(values)
    if hi < 10 * lo:
        # Within one decade a log axis has one or two ticks: a linear one reads better.
        yaxis = {"title": {"text": f"Cost per request ({currency or 'USD'})"},
                 "rangemode": "tozero", "tickprefix": _prefix(currency), "tickformat": ",.4~f"}
    else:
        ticks = log_ticks(lo, hi)
        yaxis = {"title": {"text": f"Cost per request ({currency or 'USD'}, log scale)"},
                 "type": "log", "tickmode": "array", "tickvals": ticks,
                 "ticktext": [money(Decimal(repr(t)), currency, places=_places(t))
                              for t in ticks]}
    fig.update_layout(
        showlegend=False,
        xaxis={"title": {"text": "Requests, cheapest to most expensive (percentile)"},
               "range": [-1, 101], "ticksuffix": "%"},
        yaxis=yaxis,
    )
    return fig


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks at 1, 2 and 5 times the powers of ten from `lo` to `hi` (both > 0): three or
    more on any range of a decade or more, each labelled with its amount."""
    ticks = []
    power = math.floor(math.log10(lo))
    while 10.0 ** power <= hi:
        for step in (1, 2, 5):
            tick = float(f"{step}e{power}")
            if lo <= tick <= hi:
                ticks.append(tick)
        power += 1
    return ticks


def _places(tick: float) -> int:
    """Decimal places a tick needs (0.005 -> 3), at least 2."""
    return max(2, -math.floor(math.log10(tick)))


def concentration_bands(report: MonthlyReport) -> list[dict]:
    """The priced requests in bands by cost (top 1%, next 9%, next 40%, bottom 50%).

    Each band: label, requests, cost, request_share, spend_share (Decimal fractions).
    Empty when nothing was priced or spent.
    """
    levels = sorted(report.concentration)
    first = report.concentration[levels[0]]
    total_requests, total_cost = first["requests"], first["total_cost"]
    if not total_requests or not total_cost:
        return []
    bands, prev_n, prev_cost, prev_f = [], 0, Decimal(0), Decimal(0)
    for fraction in levels:
        c = report.concentration[fraction]
        label = (f"Top {pct(fraction, 0)}" if prev_f == 0
                 else f"Next {pct(fraction - prev_f, 0)}")
        bands.append(_band(label, c["top_requests"] - prev_n, c["top_cost"] - prev_cost,
                           total_requests, total_cost))
        prev_n, prev_cost, prev_f = c["top_requests"], c["top_cost"], fraction
    rest = f"Other {pct(1 - prev_f, 0)}" if len(levels) == 1 else f"Bottom {pct(1 - prev_f, 0)}"
    bands.append(_band(rest, total_requests - prev_n,
                       total_cost - prev_cost, total_requests, total_cost))
    return bands


def _band(label: str, n: int, cost: Decimal, total_n: int, total_cost: Decimal) -> dict:
    return {"label": label, "requests": n, "cost": cost,
            "request_share": Decimal(n) / total_n, "spend_share": cost / total_cost}


def concentration_figure(report: MonthlyReport) -> go.Figure | None:
    """Share of requests against share of spend, per cost band."""
    bands = concentration_bands(report)
    if not bands:
        return None
    currency = report.headline.currency
    labels = [b["label"] for b in bands]
    fig = go.Figure()
    fig.add_bar(
        name="Share of requests",
        x=labels,
        y=[float(b["request_share"]) * 100 for b in bands],
        marker_color="#BAB0AC",
        customdata=[[f"{b['requests']:,}", pct(b["request_share"])] for b in bands],
        hovertemplate="%{x}: %{customdata[0]} requests (%{customdata[1]} of requests)"
                      "<extra></extra>",
    )
    fig.add_bar(
        name="Share of spend",
        x=labels,
        y=[float(b["spend_share"]) * 100 for b in bands],
        marker_color="#E45756",
        text=[pct(b["spend_share"]) for b in bands],
        textposition="outside",
        customdata=[[money(b["cost"], currency), exact(b["cost"], currency),
                     pct(b["spend_share"])] for b in bands],
        hovertemplate="%{x}: %{customdata[0]} (%{customdata[2]} of spend)"
                      "<br>exact %{customdata[1]}<extra></extra>",
    )
    _style(fig, height=360)
    fig.update_layout(
        barmode="group",
        legend={"orientation": "h", "y": -0.15, "x": 0},
        yaxis={"title": {"text": "% of the month"}, "ticksuffix": "%", "range": [0, 105]},
    )
    return fig


# --- helpers -------------------------------------------------------------------------------

def _style(fig: go.Figure, height: int) -> None:
    # A light style written out, not plotly's "plotly_white" template: that template is
    # deep-copied into every figure and embedded in the page, which costs more than the data.
    axis = {"automargin": True, "gridcolor": GRID, "zerolinecolor": "#c8ccd0",
            "linecolor": "#c8ccd0", "ticks": ""}
    fig.update_layout(
        template=None,
        height=height,
        # Room above the plot for plotly's toolbar, so it never covers a bar.
        margin={"l": 10, "r": 20, "t": 32, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": FONT, "size": 13, "color": "#222"},
        hoverlabel={"font": {"family": FONT}},
        separators=".,",
        xaxis=axis,
        yaxis=axis,
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _hover_amount(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return "unpriced"
    if value == 0:
        return money(value, currency)
    return f"{money(value, currency)} (exact {exact(value, currency)})"


def _percentile(q: float) -> str:
    if q == 0:
        return "Cheapest request"
    if q == 1:
        return "Most expensive request"
    return f"p{q * 100:g}"


def _prefix(currency: str | None) -> str:
    return "$" if currency in (None, "USD") else ""


def _currency_title(currency: str | None) -> str:
    return f"Spend ({currency or 'USD'})"


def _edge(day: date, offset_days: float) -> str:
    """A date-axis position `offset_days` from a day's midnight (bars are centred there)."""
    moment = datetime(day.year, day.month, day.day) + timedelta(days=offset_days)
    return f"{moment:%Y-%m-%d %H:%M}"
