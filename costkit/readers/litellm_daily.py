"""LiteLLM proxy daily activity (GET /user/daily/activity, and the team and tag variants of
the same shape): per day, spend and tokens in total (`metrics`) and broken down by model
(`breakdown.models`). Aggregates, not requests.

Layouts: the response (`{"results": [...], "metadata": {...}}`), pretty-printed or one per
line, or a JSON array of responses (the pages of a range).

A row per day and model in `breakdown.models`:
- `request_count` is `api_requests`; the model's numbers are its `metrics` object (newer
  proxies) or the entry itself (older ones).
- request id: `litellm-daily:` + date + model, so the same day fetched again is a
  duplicate, and fetched again with other numbers (the day was not over) a conflict.
- tokens: `prompt_tokens` includes `cache_read_input_tokens` and
  `cache_creation_input_tokens` (as the spend logs they sum); `completion_tokens` includes
  reasoning, which is not split (reasoning NULL: billed as output).
- billed: `spend` (USD) is `billed_cost`, from the digits as written.
- time: the day (`date`, YYYY-MM-DD) at 00:00 UTC.
What a day's `metrics` has beyond the sum of its models (requests, tokens or spend no model
accounts for) is rejected with the numbers, never dropped: it cannot be priced.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.sql import quote
from costkit.readers.base import json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    items_sql,
    judge,
    load_documents,
    money_bad_places,
    money_of,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source

NAME = "litellm-daily"
COUNTS = ("prompt_tokens", "completion_tokens", "cache_read_input_tokens",
          "cache_creation_input_tokens", "api_requests")
REQUIRED = ("prompt_tokens", "completion_tokens", "api_requests")
MONEY = ("spend", "total_spend")

RECOGNISE = re.compile(rb'(?<!\\)"api_requests"\s*:')
SHAPE = re.compile(rb'(?<!\\)"(breakdown|metrics)"\s*:')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold daily activity (`api_requests` in `metrics` or a
    `breakdown`)."""
    head = peek(source)
    return bool(RECOGNISE.search(head) and SHAPE.search(head))


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (with billed_cost and request_count): a row per day and model,
    a reject per day whose total is more than its models'."""
    items = items_sql(load_documents(con, source, "litellm_daily"), ("results",),
                      numbers=MONEY)
    return _sql(items, project, tags)


def _m(field: str) -> str:
    return f"json_extract_string(m, {quote('$.' + field)})"


def _t(field: str) -> str:
    return f"json_extract_string(day, {quote('$.metrics.' + field)})"


def _sql(items: str, project: str | None, tags: dict[str, str] | None) -> str:
    n = {c: count_of(_m(c)) for c in COUNTS}
    read = f"coalesce({n['cache_read_input_tokens']}, 0)"
    write = f"coalesce({n['cache_creation_input_tokens']}, 0)"
    where = "item_at || 'breakdown.models[' || to_json(model) || ']: '"
    problems: list[tuple[str, str]] = [
        ("json_type(m) IS DISTINCT FROM 'OBJECT'",
         "'not a metrics object (JSON ' || lower(coalesce(json_type(m), 'null')) || ')'"),
    ]
    problems += [(f"{_m(c)} IS NULL", quote(f"missing usage: no {c}")) for c in REQUIRED]
    problems += [(count_bad(_m(c)), count_reason(c, _m(c))) for c in COUNTS]
    problems += [
        (f"{read} + {write} > {n['prompt_tokens']}",
         f"'cache_read_input_tokens + cache_creation_input_tokens (' || ({read} + {write}) "
         f"|| ') > prompt_tokens (' || {n['prompt_tokens']} || ')'"),
        (f"{_m('spend')} IS NOT NULL AND {money_of(_m('spend'))} IS NULL",
         f"'spend is ' || {json_text(_m('spend'))} || '; expected a number of USD'"),
        (f"{_m('spend')} IS NOT NULL AND {money_bad_places(_m('spend'))}",
         f"'spend ' || {_m('spend')} || ' has more than 12 decimal places'"),
        ("ts IS NULL", "'unparseable date: ' || coalesce(" + json_text("date_text") +
         ", 'none') || '; expected YYYY-MM-DD'"),
        ("nullif(trim(model), '') IS NULL", quote("missing model (an empty name)")),
    ]
    any_problem, first_problem = judge(problems)
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": "'litellm-daily:' || coalesce(date_text, '') || ':' || model",
        "ts": "ts",
        "model": "model",
        "input_tokens": n["prompt_tokens"],
        "cached_input_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": n["completion_tokens"],
        "reasoning_tokens": "NULL",
        "search_calls": "0",
        "project": text_or_null(project),
        "tags": tags_sql(tags),
        "billed_cost": money_of(_m("spend")),
        "billed_currency": f"CASE WHEN {_m('spend')} IS NOT NULL THEN 'USD' END",
        "request_count": n["api_requests"],
        "reason": f"CASE WHEN {any_problem} THEN {where} || {first_problem} END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text('m::VARCHAR')} END",
    }
    # What the day's total has beyond its models (days with a rejected model are not
    # tested: that reject already stands for the day).
    rest = {c: f"coalesce({count_of(_t(c))}, 0) - coalesce(s_{c}, 0)"
            for c in ("api_requests", "prompt_tokens", "completion_tokens")}
    sums = ", ".join(f"sum({n[c]}) AS s_{c}" for c in rest)
    spend_rest = f"coalesce({money_of(_t('spend'))}, 0) - coalesce(s_spend, 0)"
    unaccounted = " OR ".join(f"r_{c} <> 0" for c in rest) + " OR r_spend <> 0"
    rest_reason = ("'metrics of ' || coalesce(date_text, '?') || ' exceed its "
                   "breakdown.models by ' || r_api_requests || ' api_requests, ' || "
                   "r_prompt_tokens || ' prompt_tokens, ' || r_completion_tokens || "
                   "' completion_tokens and $' || regexp_replace(r_spend::VARCHAR, "
                   "'\\.?0+$', '') || ' spend: usage with no model, which cannot be priced "
                   "(the breakdown covers only part of the day)'")
    day_reject = {
        "file_id": "file_id", "line": "line", "kind": "'record'", "format": quote(NAME),
        "reason": f"item_at || coalesce(problem, {rest_reason})",
        "raw": raw_text("coalesce(raw, json_extract(day, '$.metrics')::VARCHAR)"),
    }
    map_type = quote('"MAP(VARCHAR, JSON)"')
    return f"""
WITH days AS (
    SELECT * REPLACE (coalesce(problem, CASE
               WHEN item_type <> 'OBJECT' THEN 'not a day of activity (JSON ' ||
                    lower(item_type) || ')'
               WHEN json_type(item, '$.metrics') IS DISTINCT FROM 'OBJECT'
                    AND json_type(item, '$.breakdown') IS DISTINCT FROM 'OBJECT'
               THEN 'not a day of activity (no metrics, no breakdown)' END) AS problem),
           item AS day, json_extract_string(item, '$.date') AS date_text,
           CASE WHEN json_type(item, '$.breakdown.models') = 'OBJECT'
                THEN json_transform(json_extract(item, '$.breakdown.models'), {map_type})
                ELSE MAP {{}}::MAP(VARCHAR, JSON) END AS models
    FROM ({items})
),
entries AS (
    SELECT *, e.key AS model,
           CASE WHEN json_type(e.value, '$.metrics') = 'OBJECT'
                THEN json_extract(e.value, '$.metrics') ELSE e.value END AS m,
           {time_of("date_text")} AS ts
    FROM (SELECT *, unnest(map_entries(models)) AS e FROM days WHERE problem IS NULL)
),
sums AS (
    SELECT file_id, line, item_at, bool_or({any_problem}) AS bad, {sums},
           sum({money_of(_m('spend'))}) AS s_spend
    FROM entries GROUP BY ALL
),
rests AS (
    SELECT d.*, {', '.join(f'{sql} AS r_{c}' for c, sql in rest.items())},
           {spend_rest} AS r_spend
    FROM days d LEFT JOIN sums s USING (file_id, line, item_at)
    WHERE d.problem IS NULL AND NOT coalesce(s.bad, FALSE)
)
SELECT {stage_select(values)}
FROM entries
UNION ALL
SELECT {stage_select(day_reject)}
FROM (SELECT file_id, line, item_at, problem, raw, day, date_text,
             0 AS r_api_requests, 0 AS r_prompt_tokens, 0 AS r_completion_tokens,
             0 AS r_spend
      FROM days WHERE problem IS NOT NULL
      UNION ALL BY NAME
      SELECT file_id, line, item_at, problem, NULL AS raw, day, date_text, r_api_requests,
             r_prompt_tokens, r_completion_tokens, r_spend
      FROM rests WHERE {unaccounted})
"""
