"""The audit's reconciliation page: one self-contained HTML file (no script, no network).

Every string that comes from a file (models, ids, invoice text, details) has its secrets
masked and is escaped (control characters written out), so an invoice line naming a model
`<img src=x onerror=alert(1)>` shows as text. Amounts are the
exact Decimals, formatted for people, with the exact value in each cell's title.
"""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from pathlib import Path

from costkit.audit.findings import READER_NAMES, AuditResult, decimal_text
from costkit.audit.invoice import reading_text
from costkit.core import clock
from costkit.core.output_file import ensure_dir, write_file
from costkit.core.safe_output import html_text as escape
from costkit.core.safe_output import masked

KIND_NAMES = {"invoice": "Line-item invoice", "focus": "FOCUS cost export",
              "ledger": "Gateway ledger", "costs": "OpenAI Costs API pages"}
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1440px; color: #1d2433; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #5b6475; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.2rem 0; }
.card { border: 1px solid #d8dde6; border-radius: 8px; padding: .7rem 1rem; min-width: 180px; }
.card .label { color: #5b6475; font-size: .85rem; } .card .value { font-size: 1.35rem; }
.status { padding: .6rem 1rem; border-radius: 8px; font-weight: 600; }
.status.clean { background: #e6f4ea; color: #1e6b34; }
.status.dirty { background: #fdecea; color: #a1251b; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { border-bottom: 1px solid #e3e7ee; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.num { text-align: right;
     font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; } td.detail { min-width: 220px; }
.scroll { overflow-x: auto; }
.kind { font-family: ui-monospace, monospace; font-size: .85rem; }
.neg { color: #a1251b; } .pos { color: #8a5a00; }
ul.notes { color: #3b4456; } footer { margin-top: 2rem; color: #7a8294; font-size: .8rem; }
"""


def page_name(result: AuditResult) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(result.source).stem).strip("-") or "audit"
    return f"costkit-audit-{stem}.html"


def write_page(result: AuditResult, out_dir: Path) -> Path:
    """Write the page into `out_dir` (created if needed); returns its path."""
    path = ensure_dir(Path(out_dir)) / page_name(result)
    return write_file(path, render(result))


def _money(value: Decimal | None, currency: str, signed: bool = False) -> str:
    """A money cell: cents from $1 up, exact below (ledger debits are fractions of a cent);
    the exact value in the title. `signed` colours differences."""
    if value is None:
        return '<td class="num">-</td>'
    if abs(value) >= 1:
        shown = f"{abs(value).quantize(Decimal('0.01')):,}"
    else:
        shown = decimal_text(abs(value).quantize(Decimal(1).scaleb(-9)))
        shown = shown if "." in shown else f"{shown}.00"
        if len(shown.split(".")[1]) < 2:
            shown += "0"
    symbol = "$" if currency == "USD" else f"{escape(currency)} "
    sign = "-" if value < 0 else ""
    css = (" neg" if value < 0 else " pos" if value > 0 else "") if signed else ""
    return (f'<td class="num{css}" title="{escape(decimal_text(value) or "")}">'
            f"{sign}{symbol}{shown}</td>")


def _quantity(value: Decimal | None, unit: str, currency: str, signed: bool = False) -> str:
    if value is None:
        return '<td class="num">-</td>'
    if unit == "USD" or unit == currency:
        return _money(value, currency, signed)
    text = f"{value.normalize():,f}"
    if unit in ("tokens", "calls"):
        return f'<td class="num" title="{escape(text)}">{escape(text)} {unit}</td>'
    # a unit price: the price unit goes in the title (and the finding's detail)
    cell = _money(value, currency, signed)
    return cell.replace('" title="', f'" title="{escape(unit)}: ', 1)


def _cell(text: object) -> str:
    return f"<td>{escape('' if text is None else str(text))}</td>"


def render(result: AuditResult) -> str:
    result = masked(result)  # secrets in invoice or ledger text never reach the page
    s, cur = result.summary, result.currency
    kind = READER_NAMES.get(s.get("reader", ""), KIND_NAMES[result.kind])
    source = Path(result.source).name
    if result.kind == "costs":
        scope = (f"{s['results']:,} cost results in {s['groups']:,} day-project groups, "
                 f"{s['first_bucket'][:10]} to {s['last_bucket'][:10]}")
    elif result.kind == "ledger":
        scope = f"{s['events']:,} events, {s['requests']:,} requests"
        if s.get("first_event"):
            scope += f", {s['first_event'][:10]} to {s['last_event'][:10]}"
    else:
        scope = f"invoice {', '.join(s['invoices'])}; " + (
            f"period {', '.join(s['periods'])}" if s["periods"] else "no LLM usage lines")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>costkit audit: {escape(source)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Audit of {escape(source)}</h1>",
        f'<p class="sub">{escape(kind)}: {escape(scope)}. Currency {escape(cur)}.</p>',
    ]
    if result.findings:
        counts = ", ".join(f"{n} {escape(k)}" for k, n in
                           sorted(result.as_dict()["summary"]["by_kind"].items()))
        parts.append(f'<p class="status dirty">{len(result.findings)} finding(s) beyond '
                     f'tolerance: {counts}.</p>')
    else:
        clean = ("No LLM usage lines: nothing to reconcile." if "out_of_scope" in s
                 and not s.get("lines") else "No findings: everything matches within tolerance.")
        parts.append(f'<p class="status clean">{clean}</p>')
    parts.append('<div class="cards">')
    for label, value in (("Billed total", s["billed_total"]),
                         ("Expected total", s["expected_total"]),
                         ("Net difference", s["difference"])):
        cell = _money(value, cur, label == "Net difference")
        cell = cell.replace('<td class="num', '<div class="value').replace("</td>", "</div>")
        parts.append(f'<div class="card"><div class="label">{label}</div>{cell}</div>')
    parts.append("</div>")
    parts.extend(_findings(result))
    parts.extend(_charges(result))
    parts.extend(_notes(result))
    generated = clock.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"<footer>Generated by costkit audit on {generated} from "
                 f"{escape(result.source)}. Amounts are exact; cells round to the cent, "
                 "hover for the exact value.</footer></body></html>")
    return "\n".join(parts) + "\n"


def _findings(result: AuditResult) -> list[str]:
    if not result.findings:
        return []
    cur = result.currency
    out = ["<h2>Findings</h2>", '<div class="scroll"><table><thead><tr>'
           "<th>kind</th><th>concerns</th><th>model</th><th>charge</th><th>expected</th>"
           "<th>billed</th><th>difference</th><th>impact</th><th>detail</th>"
           "</tr></thead><tbody>"]
    for f in result.findings:
        out.append(
            f'<tr><td class="kind">{escape(f.kind)}</td>'
            f'<td class="nowrap">{escape(_concerns(f))}</td>'
            f'<td class="nowrap">{escape(f.model or "-")}</td>'
            f'{_cell(f.charge or "-")}{_quantity(f.expected, f.unit, cur)}'
            f'{_quantity(f.billed, f.unit, cur)}{_quantity(f.difference, f.unit, cur, True)}'
            f'{_money(f.impact, cur, True)}<td class="detail">{escape(f.detail)}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return out


def _concerns(finding) -> str:
    return f"{finding.ref} ({finding.request_id})" if finding.request_id else finding.ref


def _charges(result: AuditResult) -> list[str]:
    if not result.charges:
        return []
    cur = result.currency
    out = ["<h2>Reconciliation by model and charge</h2>", '<div class="scroll"><table><thead><tr>'
           "<th>period</th><th>model</th><th>charge</th><th>billed quantity</th>"
           "<th>logged quantity</th><th>billed</th><th>expected</th><th>difference</th>"
           "<th>lines</th></tr></thead><tbody>"]
    for row in result.charges:
        out.append(
            f"<tr>{_cell(row.period)}{_cell(row.model)}{_cell(row.charge)}"
            f"{_quantity(row.billed_quantity, row.unit, cur)}"
            f"{_quantity(row.logged_quantity, row.unit, cur)}"
            f"{_money(row.billed_amount, cur)}{_money(row.expected_amount, cur)}"
            f"{_money(row.difference, cur, True)}"
            f"{_cell(' '.join(map(str, row.lines)) or '-')}</tr>"
        )
    out.append("</tbody></table></div>")
    return out


def _notes(result: AuditResult) -> list[str]:
    s, cur = result.summary, result.currency
    items: list[str] = []
    if result.kind == "costs":
        if "unpriced" in s:
            items.append("Not checked (usage with no price card): "
                         f"{escape(', '.join(s['unpriced']['groups']))}.")
        items.append(f"Rounding: {escape(s['rounding'])}.")
    elif result.kind == "ledger":
        if s.get("discount_total"):
            items.append(f"Discounts applied: {escape(decimal_text(s['discount_total']))} "
                         f"{escape(cur)}.")
        failed = s["failed_billed"]
        if failed["requests"]:
            items.append(f"Failed requests that were billed: {failed['requests']} "
                         f"({escape(decimal_text(failed['billed']))} {escape(cur)}): "
                         f"{escape(', '.join(failed['ids']))}.")
        if "unpriced" in s:
            u = s["unpriced"]
            items.append(f"Not checked (no price card): {u['events']} events of "
                         f"{escape(', '.join(u['models']))}.")
        if "byok" in s:
            items.append(f"Not checked (bring-your-own-key: total_cost is OpenRouter's fee): "
                         f"{s['byok']['events']} events.")
        if "not_read" in s:
            items.append(f"Records not read: {s['not_read']['records']} (the "
                         "unreadable_event findings; <code>costkit ingest</code> rejects them "
                         "alike).")
        items.append(f"Rounding: {escape(s['rounding'])}.")
    else:
        for category, amount in s.get("other_charges", {}).items():
            items.append(f"{escape(category)} (not usage, not reconciled): "
                         f"{escape(decimal_text(amount))} {escape(cur)}.")
        items.extend(escape(reading_text(r)) + "." for r in s.get("unit_readings", []))
        if "out_of_scope" in s:
            o = s["out_of_scope"]
            items.append(f"Out of scope (not LLM usage, not reconciled): {o['rows']:,} rows, "
                         + escape(", ".join(f"{decimal_text(a)} {c}"
                                            for c, a in o["billed"].items())) + ".")
        if "corrections_to_other_periods" in s:
            c = s["corrections_to_other_periods"]
            items.append(f"Corrections to periods not in this file: lines "
                         f"{escape(', '.join(map(str, c['lines'])))}.")
        if "unpriced_models" in s:
            items.append("Logged usage with no price card (not in the expected total): "
                         f"{escape(', '.join(s['unpriced_models']))}.")
        items.append(f"Tolerance: {escape(s['tolerance'])}. Rounding: {escape(s['rounding'])}.")
    return ["<h2>Notes</h2>", '<ul class="notes">',
            *(f"<li>{item}</li>" for item in items), "</ul>"]
