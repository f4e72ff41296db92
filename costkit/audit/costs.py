"""OpenAI Costs API pages reconciled against the store (`costkit audit --ledger COSTS`).

The pages bill amounts per bucket (a day), line item and project, with no tokens and no
request ids, so they are checked per bucket and project: the billed amounts summed against
the exact cost of the usage the store holds in that bucket for that project (costed by the
cards in effect, as `costkit report` costs it). A page not grouped by project (project_id
null) is checked per bucket against all the store's usage in it.

- A difference beyond rounding is a `ledger_overcharge` / `ledger_undercharge` finding.
  Rounding `line`: each billed amount may be rounded at the places the file writes its
  amounts in (2 to 9), so a group of n line items may differ by n half-units of the last
  place; `none`: exactly.
- A project with usage costed in a bucket the pages bill (grouped by project) and no cost
  line there is `unbilled_usage`.
- Usage of a model no card prices makes its group's expected cost unknown: the group is
  counted apart (`unpriced`), never taken as matching or as $0.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costkit.audit.findings import MAX_PLACES, ROUNDINGS, AuditResult, Finding, decimal_text
from costkit.audit.logged import require_usage
from costkit.core.errors import InputError
from costkit.pricing.book import PriceBook
from costkit.readers.openai_costs import CostLine, read_costs
from costkit.store.connection import open_store

Bucket = tuple[datetime, datetime]


def audit_costs(path: Path | str, db: Path | str | None, book: PriceBook,
                rounding: str = "line") -> AuditResult:
    """Read Costs API pages and reconcile each bucket and project with the store at `db`."""
    if rounding not in ROUNDINGS:
        raise InputError(f"--rounding {rounding!r}: expected line or none")
    lines = read_costs(path)
    if not lines:
        raise InputError(f"{path}: no cost results to audit")
    currencies = {ln.currency for ln in lines}
    if len(currencies) > 1:
        raise InputError(f"{path}: amounts in {', '.join(sorted(currencies))}; audit one "
                         "currency at a time")
    buckets = sorted({(ln.start, ln.end) for ln in lines})
    logged = _logged(db, book, buckets, path)
    return reconcile_costs(str(path), lines, logged, rounding)


def _logged(db: Path | str | None, book: PriceBook, buckets: list[Bucket],
            path: Path | str) -> dict[Bucket, dict[str | None, Decimal | None]]:
    """Per bucket, each project's exact cost in the store (None: some usage has no card)."""
    from costkit.spend.breakdown import UnpricedUsageWarning, spend

    con = open_store(db, read_only=True)
    try:
        require_usage(con, path)
        out: dict[Bucket, dict[str | None, Decimal | None]] = {}
        for start, end in buckets:
            with warnings.catch_warnings():  # unpriced usage is in the summary instead
                warnings.simplefilter("ignore", UnpricedUsageWarning)
                frame = spend(con, by=["project"], since=start, until=end, book=book)
            out[(start, end)] = {row["project"]: row["total_cost"]
                                 for row in frame.iter_rows(named=True)}
        return out
    finally:
        con.close()


def reconcile_costs(source: str, lines: list[CostLine],
                    logged: dict[Bucket, dict[str | None, Decimal | None]],
                    rounding: str = "line") -> AuditResult:
    """Findings for cost lines against the store's cost per bucket and project (pure)."""
    places = min(max((max(-ln.amount.as_tuple().exponent, 0) for ln in lines), default=2),
                 MAX_PLACES)
    places = max(places, 2)
    groups: dict[tuple[Bucket, str | None], list[CostLine]] = defaultdict(list)
    for ln in lines:
        groups[((ln.start, ln.end), ln.project)].append(ln)
    name = Path(source).name
    findings: list[Finding] = []
    billed_total = expected_total = unchecked = Decimal(0)
    unpriced: list[str] = []
    for (bucket, project), group in sorted(groups.items(), key=_order):
        billed = sum((ln.amount for ln in group), Decimal(0))
        billed_total += billed
        costs = logged.get(bucket, {})
        if project is None:
            values = list(costs.values())
            expected = None if None in values else sum(values, Decimal(0))  # type: ignore[arg-type]
        else:
            expected = costs.get(project, Decimal(0))
        label = _label(bucket, project)
        if expected is None:
            unpriced.append(label)
            unchecked += billed
            continue
        expected_total += expected
        slack = Decimal(0) if rounding == "none" else \
            len(group) * Decimal(1).scaleb(-places) / 2
        diff = billed - expected
        if abs(diff) <= slack:
            continue
        findings.append(Finding(
            kind="ledger_overcharge" if diff > 0 else "ledger_undercharge",
            ref=f"{name}:{group[0].line} {label}", source=source,
            lines=tuple(sorted({ln.line for ln in group})), period=_day(bucket),
            expected=expected, billed=billed, difference=diff, impact=diff,
            detail=f"billed {decimal_text(billed)} in {len(group)} line item(s) "
                   f"({', '.join(ln.line_item or '-' for ln in group)}); the store's usage "
                   f"of {label} costs {decimal_text(expected)}",
        ))
    by_project = {b for (b, p) in groups if p is not None}
    for bucket in sorted(by_project):
        for project, cost in logged.get(bucket, {}).items():
            if (bucket, project) in groups or not cost:
                continue
            label = _label(bucket, project or "(no project)")
            findings.append(Finding(
                kind="unbilled_usage", ref=f"usage log {label}", period=_day(bucket),
                expected=cost, billed=Decimal(0), difference=-cost, impact=-cost,
                detail=f"the store's usage of {label} costs {decimal_text(cost)}; the pages "
                       "bill nothing for it",
            ))
    summary: dict[str, Any] = {
        "kind": "costs", "source": source, "currency": lines[0].currency,
        "results": len(lines), "groups": len(groups),
        "first_bucket": min(ln.start for ln in lines).isoformat(),
        "last_bucket": max(ln.end for ln in lines).isoformat(),
        "billed_total": billed_total, "expected_total": expected_total,
        # over the groups that could be checked: an unpriced group's amounts are apart
        "difference": billed_total - unchecked - expected_total,
        "rounding": rounding if rounding == "none" else f"line ({places} decimal places)",
    }
    if unpriced:
        summary["unpriced"] = {"groups": unpriced, "billed": unchecked}
    return AuditResult("costs", source, summary["currency"], summary, findings)


def _order(item: tuple[tuple[Bucket, str | None], list[CostLine]]) -> tuple:
    (bucket, project), _ = item
    return bucket, project or ""


def _day(bucket: Bucket) -> str:
    start, end = bucket
    if (end - start).days == 1 and start.time() == datetime.min.time():
        return start.date().isoformat()
    return f"{start.isoformat()}..{end.isoformat()}"


def _label(bucket: Bucket, project: str | None) -> str:
    return f"{_day(bucket)} {project or '(all projects)'}"
