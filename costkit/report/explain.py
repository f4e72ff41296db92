"""The page's explaining sections: what changed since the previous month (`variance`) and
the days that spent far more than expected (`anomalies`). Every string is escaped with `h`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from costkit.core.format import count, exact, money, signed_money, signed_pct
from costkit.report import anomalies as anomaly_rules
from costkit.report.data import MonthlyReport, previous_month
from costkit.report.markup import _days, _table, _title, h
from costkit.report.variance import Change, Variance

SHOWN = 8   # rows per table of changes; the rest are summed in one line
NAMES = {"project": ("project", "projects"), "api_key": ("API key", "API keys"),
         "model": ("model", "models"), "component": ("component", "components")}


def what_changed(report: MonthlyReport) -> str:
    v = report.variance
    cur = report.headline.currency
    before_label = _before_label(report, v)
    if v is None:
        return f"""<section id="what-changed"><h2>What changed</h2>
<p class="lead">No usage in {h(previous_month(report.month).strftime('%B %Y'))}: nothing to
compare with.</p></section>"""
    after_label = report.label if v.compared_days is None else _days(report.month,
                                                                      v.compared_days)
    if v.change is None:
        overall = "The change cannot be priced: one side has no priced usage."
    else:
        verb = "rose" if v.change > 0 else "fell" if v.change < 0 else "did not change"
        pct = f" ({signed_pct(v.change / v.before * 100)})" if v.before else ""
        amount = f" {money(abs(v.change), cur)}{pct}" if v.change else ""
        overall = (f"Spend {verb}{amount}: {money(v.after, cur)} in {after_label} against "
                   f"{money(v.before, cur)} in {before_label}.")
    largest = "".join(
        f"<li>By {h(NAMES[c.dim][0])}: <strong>{h(c.sentence(cur))}</strong></li>"
        for c in v.largest())
    tables = "\n".join(_change_table(dim, rows, cur) for dim, rows in v.by.items())
    return f"""<section id="what-changed">
<h2>What changed</h2>
<p class="lead">{h(overall)} {_same_days_note(report, v)}Each group's change is named with the
component that moved most and how much more or less of it was used.</p>
<ul class="largest">{largest}</ul>
{_new_and_gone(v)}
<div class="grid2">
{tables}
</div>
</section>"""


def _before_label(report: MonthlyReport, v: Variance | None) -> str:
    before = previous_month(report.month)
    if v is None or v.compared_days is None:
        return before.strftime("%B %Y")
    return _days(before, v.compared_days)


def _same_days_note(report: MonthlyReport, v: Variance) -> str:
    note = "" if v.compared_days is None else (
        f"The month's data covers {v.compared_days} days, so both months are compared on "
        "the same days (as the headline's change is). ")
    begins = report.headline.previous_data_from
    if begins is not None:
        note += (f"The store's usage begins {begins:%Y-%m-%d}, so the earlier side is short "
                 "of days: some of what reads as new may only be unrecorded before. ")
    return h(note)


def _new_and_gone(v: Variance) -> str:
    parts = []
    for status, word in (("new", "New this month (no usage before)"),
                         ("gone", "Gone (usage before, none this month)")):
        names = []
        for dim in ("project", "api_key", "model"):
            keys = [c.key for c in v.by[dim] if c.status == status]
            if keys:
                noun = NAMES[dim][0 if len(keys) == 1 else 1]
                names.append(f"{noun} {', '.join(keys)}")
        if names:
            parts.append(f"<strong>{h(word)}:</strong> {h('; '.join(names))}.")
    if not parts:
        return ("<p>Nothing is new or gone: the same projects, API keys and models spent "
                "in both.</p>")
    return "<p>" + " ".join(parts) + "</p>"


def _change_table(dim: str, rows: list[Change], cur: str | None) -> str:
    shown, rest = rows[:SHOWN], rows[SHOWN:]
    cells = []
    for c in shown:
        sentence = c.sentence(cur)
        why = sentence.split(": ", 1)[1] if ": " in sentence else ""
        if c.dim == "component" and c.quantity:
            why = sentence.split(", ", 1)[1]   # "60 more calls"
        if c.unpriced:
            why += (", " if why else "") + "priced usage only"
        status = f' <span class="tag">{h(c.status)}</span>' if c.status else ""
        cells.append(
            f"<tr><td>{h(c.key)}{status}</td>"
            f'<td class="num"{_title(exact(c.before, cur))}>{h(money(c.before, cur))}</td>'
            f'<td class="num"{_title(exact(c.after, cur))}>{h(money(c.after, cur))}</td>'
            f'<td class="num"{_title(exact(c.change, cur))}><strong>'
            f"{h(signed_money(c.change, cur))}</strong></td><td>{h(why)}</td></tr>")
    if rest:
        moved = [c.change for c in rest if c.change is not None]
        cells.append(
            f'<tr class="other"><td colspan="3">{count(len(rest))} more '
            f"{h(NAMES[dim][1])} with smaller changes</td>"
            f'<td class="num">{h(signed_money(sum(moved, Decimal(0)), cur))}</td><td></td></tr>')
    what = "why" if dim != "component" else "how much"
    return (f"<div><h3>By {h(NAMES[dim][0])}</h3><div class=\"scroll\">"
            + _table([NAMES[dim][0], "before", "after", "change", what], cells,
                     numeric_from=1, numeric_to=4)
            + "</div></div>")


def anomalies(report: MonthlyReport) -> str:
    cur = report.headline.currency
    rule = (f"A day is listed when its spend is above the {anomaly_rules.UPPER:.0%} bound of "
            "what the forecast model (the one behind <code>costkit forecast</code>) expected "
            "from the weeks before it, at least "
            f"{anomaly_rules.MIN_MULTIPLE} times the expectation, and by at least "
            f"{anomaly_rules.MIN_SHARE:.1%} of the month's spend. The account is checked, and "
            "its largest projects and models each on their own.")
    if not report.anomalies:
        return f"""<section id="anomalies">
<h2>Anomalies</h2>
<p class="lead">None: no day this month spent far above what was expected of it. {rule}</p>
</section>"""
    rows = []
    for a in report.anomalies:
        where = "all usage" if a.dim == "account" else f"{a.dim} {a.key}"
        times = f"{a.multiple:.1f}× expected" if a.multiple is not None else "nothing expected"
        drove = []
        if a.component is not None and a.component_rise is not None:
            drove.append(f"{a.component.label.lower()} {signed_money(a.component_rise, cur)}")
        if a.project is not None and a.project_rise is not None:
            drove.append(f"project {a.project} {signed_money(a.project_rise, cur)}")
        rows.append(
            f"<tr><td>{h(f'{a.day:%a %Y-%m-%d}')}</td><td>{h(where)}</td>"
            f'<td class="num"{_title(exact(a.actual, cur))}>{h(money(a.actual, cur))}</td>'
            f'<td class="num">{h(money(a.expected, cur))}</td>'
            f'<td class="num">{h(money(a.upper, cur))}</td>'
            f'<td class="num"><strong>{h(signed_money(a.excess, cur))}</strong><br>'
            f"<small>{h(times)}</small></td>"
            f"<td>{h('; '.join(drove) or 'no single component')}</td></tr>")
    last = report.month + timedelta(days=report.coverage.covered - 1)
    return f"""<section id="anomalies">
<h2>Anomalies</h2>
<p class="lead">{count(len(rows))} day{'s' if len(rows) != 1 else ''} from
{h(f'{report.month:%d %b}')} to {h(f'{last:%d %b}')} spent far above what was expected.
{rule} What drove it: the component (and the project) whose spend rose most above its mean
of the {anomaly_rules.DRIVER_DAYS} days before.</p>
<div class="scroll">{_table(["day", "where", "spent", "expected",
                               f"{anomaly_rules.UPPER:.0%} bound", "above expected",
                               "what drove it"], rows, numeric_from=2,
                               numeric_to=6)}</div>
</section>"""
