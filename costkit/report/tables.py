"""The monthly page's tables: spend by group, the most expensive requests, data quality
(rejected records, unpriced usage) and the price cards in effect."""

from __future__ import annotations

from decimal import Decimal

from costkit.core.format import count, exact, money, pct, when
from costkit.pricing.cards import Card
from costkit.report.data import COMPONENTS, GROUPINGS, MonthlyReport
from costkit.report.markup import _cut, _or_none, _plural, _table, _title, h


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


ID_HEAD, ID_TAIL = 8, 4   # a long id is shown as its first 8 and last 4 characters
# Requests of one shape (same project, model, endpoint, API key and search calls) are one row.
SHAPE = ("project", "model", "endpoint", "api_key", "search_calls")


def short_id(request_id: str) -> str:
    """'resp_81ac679dc56685d1dcd7e519' -> 'resp_81a…e519'; short ids unchanged."""
    if len(request_id) <= ID_HEAD + ID_TAIL + 1:
        return request_id
    return request_id[:ID_HEAD] + "\u2026" + request_id[-ID_TAIL:]


def id_cell(request_id: str) -> str:
    """The short id, the full id on hover, and a button that copies it (render.js)."""
    return (f'<td class="id"><code title="{h(request_id)}">{h(short_id(request_id))}</code> '
            f'<button type="button" class="copy" data-copy="{h(request_id)}" '
            f'aria-label="copy the full id {h(request_id)}">copy</button></td>')


def request_shapes(frame) -> list[tuple[dict, list[dict]]]:
    """The requests grouped by SHAPE, in order of each group's most expensive request."""
    groups: dict[tuple, list[dict]] = {}
    for row in frame.iter_rows(named=True):
        groups.setdefault(tuple(row[k] for k in SHAPE), []).append(row)
    return [(rows[0], rows) for rows in groups.values()]


def _top_requests(report: MonthlyReport) -> str:
    frame = report.top_requests
    cur = report.headline.currency
    shown = [c for c in COMPONENTS if c in ("input_cost", "output_cost") or any(
        v not in (None, 0) for v in frame[c].to_list())]
    rows = []
    shapes = request_shapes(frame)
    for i, (row, same) in enumerate(shapes, 1):
        tokens = (f"{count(row['input_tokens'])} in ({count(row['cached_input_tokens'])} cached)"
                  f"<br>{count(row['output_tokens'])} out, "
                  f"{count(row['reasoning_tokens'] or 0)} reasoning"
                  + (f"<br>{_plural(row['search_calls'], 'search', 'searches')}"
                     if row["search_calls"] else ""))
        costs = [r["total_cost"] for r in same if r["total_cost"] is not None]
        more = ""
        if len(same) > 1:
            low = min(costs) if costs else None
            more = (f'<br><small class="more">and {count(len(same) - 1)} more of this shape, '
                    f"down to {h(money(low, cur))}</small>")
        cells = [
            f'<td class="num">{i}</td>',
            f"<td>{h(when(row['ts'], report.tz))}</td>",
            id_cell(row["request_id"]),
            f"<td>{h(_or_none(row['project']))}<br><small>{h(row['model'])}</small>{more}</td>",
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
    grouped = (f" The {count(frame.height)} are grouped by shape (project, model, endpoint, "
               f"API key and web searches) into {count(len(shapes))} rows: each row is the "
               "most expensive of its shape." if len(shapes) < frame.height else "")
    return f"""<section id="top-requests">
<h2>The {count(frame.height)} most expensive requests</h2>
<p class="lead">Hover an amount for its exact value, an id for all of it; <em>copy</em>
copies the id. Ids are the provider's (or a hash of the record when it had none), to find
the call in your own logs.{grouped}{aggregate_note(report)}</p>
<div class="scroll">{_table(headers, rows, numeric_from=5, first_numeric=True)}</div>
</section>"""


def aggregate_note(report: MonthlyReport) -> str:
    """Says how many aggregate rows the per-request sections leave out (see report.single)."""
    if not report.aggregate_rows:
        return ""
    return (f" Left out: {_plural(report.aggregate_rows, 'usage row', 'usage rows')} that "
            f"each stand for many requests ({count(report.aggregate_requests)} requests in "
            "all, e.g. an OpenAI usage bucket): they are in every total, but are not single "
            "requests.")


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
