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
