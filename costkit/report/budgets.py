"""The monthly page's budget section: each costkit.toml budget against the month's spend,
so far and projected (`costkit.budgets.check`, the figures `costkit budget check` prints).

The data (`month_budgets`) is built with the report; the section (`budget_section`) is
drawn by the page. Bars are plain HTML with inline widths: no chart, no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import duckdb

from costkit.budgets.check import OK, OVER, BudgetRow, MonthBudgets, check_budgets
from costkit.core.config import Budget
from costkit.core.format import exact, money
from costkit.pricing.book import PriceBook
from costkit.report.markup import _plural, h

_STATUS_COLORS = {OK: "#1a7f37", OVER: "#b3261e"}   # projected-over: the warning colour
_WARN = "#9a6700"


def month_budgets(con: duckdb.DuckDBPyConnection, month: date, tz: str, book: PriceBook,
                  now: datetime, budgets: Sequence[Budget]) -> MonthBudgets | None:
    """The budgets' rows for the report's month (None: no budgets, no section)."""
    if not budgets:
        return None
    return check_budgets(con, budgets, tz=tz, book=book, month=month, now=now)


def budget_section(budgets: MonthBudgets | None) -> str:
    """The page's "Budgets" section ('' without budgets)."""
    if budgets is None:
        return ""
    kind = ("so far and projected to the month's end (as the daily chart's forecast)"
            if budgets.running else "for the whole month")
    stale = (" <strong>The data is stale:</strong> the days since the newest usage count as "
             "no spend, so the figures are too low." if budgets.stale else "")
    legend = "spent (solid) and projected (light)" if budgets.running else "spent"
    rows = "\n".join(_row(r, budgets.running) for r in budgets.rows)
    columns = ("Budget", "Scope", "Monthly", "Spent", "Used",
               *(("Projected",) if budgets.running else ()), "Status", "")
    head = "".join(f'<th class="num">{c}</th>' if 1 < i < len(columns) - 2
                   else f"<th>{c}</th>" for i, c in enumerate(columns))
    return f"""<section id="budgets">
<h2>Budgets</h2>
<p class="lead">Spend against each budget in costkit.toml, {kind}. Bars: {legend}, against
the budget (the black line).{stale}</p>
<div class="scroll"><table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table></div>
</section>"""


def _row(r: BudgetRow, running: bool) -> str:
    b, cur = r.budget, r.budget.currency
    scope = h(b.scope) if b.match is None else f"{h(b.scope)} <code>{h(b.match)}</code>"
    used = r.spent / b.monthly
    projected = ("" if not running else
                 f'<td class="num">{h(money(r.projected, cur))}</td>' if r.projected is not None
                 else '<td class="num">n/a</td>')
    notes = [h(r.note)] if r.note and running else []
    if r.left_out:
        notes.append(f"{_plural(r.left_out, 'request', 'requests')} of "
                     f"{h(', '.join(r.left_out_models))} not in the spend (unpriced)")
    status = f'<span class="nowrap">{h(r.status)}</span>' + "".join(
        f'<div style="font-weight:400;min-width:11em"><small>{n}</small></div>' for n in notes)
    color = _STATUS_COLORS.get(r.status, _WARN)
    return (f'<tr data-budget="{h(b.name)}" data-status="{h(r.status)}">'
            f"<td>{h(b.name)}</td><td>{scope}</td>"
            f'<td class="num">{h(money(b.monthly, cur))}</td>'
            f'<td class="num" title="exact: {h(exact(r.spent, cur))}">{h(money(r.spent, cur))}'
            f'</td><td class="num">{used:.0%}</td>{projected}'
            f'<td style="color:{color};font-weight:600">{status}</td>'
            f"<td>{_bar(r, running)}</td></tr>")


def _bar(r: BudgetRow, running: bool) -> str:
    """Spent (solid) and projected (light) against the budget (the line at its end); an
    overrun runs past the line, drawn to a scale of the larger amount."""
    amount = r.budget.monthly
    top = max(amount, r.spent, r.projected or Decimal(0))

    def width(value: Decimal) -> str:
        return f"{(value / top * 100).quantize(Decimal('0.1'))}%"

    color = _STATUS_COLORS.get(r.status, _WARN)
    projected = ""
    if running and r.projected is not None and r.projected > r.spent:
        projected = (f'<div style="position:absolute;left:0;top:0;bottom:0;'
                     f'width:{width(r.projected)};background:{color};opacity:.25"></div>')
    return ('<div class="budget-bar" style="position:relative;width:140px;height:14px;'
            'margin-top:3px;background:#f6f8fa;border:1px solid #d8dee4;border-radius:3px">'
            f"{projected}"
            f'<div style="position:absolute;left:0;top:0;bottom:0;width:{width(r.spent)};'
            f'background:{color}"></div>'
            f'<div style="position:absolute;top:-3px;bottom:-3px;left:{width(amount)};'
            'border-left:2px solid #1f2328"></div></div>')
