"""OpenAI organization Costs API pages (GET /v1/organization/costs): what was billed, per
bucket (a day, by default), line item and project. Billed amounts without tokens, so they
are not usage rows: `costkit audit --ledger` reads them (`read_costs`) and sets each
bucket's amounts, per project, against the cost of the usage the store holds for it.

Layouts: one page (`{"object": "page", "data": [buckets], ...}`), pretty-printed or not; a
JSONL of pages; a JSON array of pages; a bucket on its own. A result is named
`data[i].results[j]` in messages, after the line its page starts on.

Per result (`object: organization.costs.result`): `amount.value` is read exactly from the
digits as written (never via a float), `amount.currency` upper-cased (USD when absent);
`line_item` and `project_id` are kept as given (null when the page was not grouped by them);
the bucket's `start_time` / `end_time` (unix seconds) are its period, [start, end).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costkit.core.errors import InputError
from costkit.readers.documents import peek
from costkit.readers.lines import Source

NAME = "openai-costs"
RESULT = "organization.costs.result"
RECOGNISE = re.compile(rb'(?<!\\)"object"\s*:\s*"organization\.costs\.result"')


@dataclass(frozen=True)
class CostLine:
    """One Costs API result: a billed amount for a bucket, line item and project."""

    line: int  # the line its page starts on
    item: str  # data[i].results[j]
    start: datetime
    end: datetime
    project: str | None
    line_item: str | None
    amount: Decimal
    currency: str


def recognises(path: Path | str) -> bool:
    """A file whose first 64 KB hold a Costs API result."""
    return RECOGNISE.search(peek(Source(0, Path(path), str(path)))) is not None


def read_costs(path: Path | str) -> list[CostLine]:
    """Every cost result in the file, in file order; InputError (file, line, field) for a
    result that cannot be read: nothing billed is ever dropped."""
    out: list[CostLine] = []
    for line, doc in _documents(Path(path)):
        pages = doc if isinstance(doc, list) else [doc]
        for page in pages:
            if not isinstance(page, dict):
                raise InputError(f"{path}:{line}: expected a Costs API page, got JSON "
                                 f"{type(page).__name__}")
            buckets = [page] if page.get("object") == "bucket" else page.get("data")
            if not isinstance(buckets, list):
                raise InputError(f"{path}:{line}: a page without a data list of buckets")
            for i, bucket in enumerate(buckets):
                out += _bucket(path, line, i, bucket)
    return out


def _documents(path: Path) -> list[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:  # one document (a page, pretty-printed or not, or an array of pages)
        return [(1, json.loads(text, parse_float=Decimal))]
    except json.JSONDecodeError:
        pass
    docs = []
    for n, row in enumerate(text.splitlines(), start=1):
        if not row.strip():
            continue
        try:
            docs.append((n, json.loads(row, parse_float=Decimal)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from None
    return docs


def _bucket(path: Path | str, line: int, i: int, bucket: Any) -> list[CostLine]:
    where = f"{path}:{line}: data[{i}]"
    if not isinstance(bucket, dict):
        raise InputError(f"{where} is not a bucket object")
    start, end = (_time(bucket.get(f), where, f) for f in ("start_time", "end_time"))
    results = bucket.get("results")
    if not isinstance(results, list):
        raise InputError(f"{where}.results is missing; expected a list of cost results")
    out = []
    for j, result in enumerate(results):
        at = f"{where}.results[{j}]"
        if not isinstance(result, dict) or result.get("object") != RESULT:
            raise InputError(f"{at} is not an {RESULT}")
        amount = result.get("amount")
        value = amount.get("value") if isinstance(amount, dict) else None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InputError(f"{at}.amount.value is {json.dumps(value, default=str)}; "
                             "expected a number")
        currency = (amount.get("currency") or "usd").upper()
        out.append(CostLine(line, f"data[{i}].results[{j}]", start, end,
                            _text(result.get("project_id")), _text(result.get("line_item")),
                            Decimal(value), currency))
    return out


def _time(value: Any, where: str, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 4102444800:
        raise InputError(f"{where}.{field} is {value!r}; expected unix seconds")
    return datetime.fromtimestamp(value, UTC)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
