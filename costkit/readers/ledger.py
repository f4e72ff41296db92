"""The gateway's account usage events (`object: usage_event`, from GET /v1/account/usage):
what the gateway debited for each request, as canonical usage rows with `billed_cost`.

Accepted layouts: a JSONL of events; a JSONL of the page objects the endpoint returns (the
events in a list field: data, events, usage, items or results); one page, or one JSON array
of events, pretty-printed over many lines. A record inside a page is named `data[i]` (its
0-based index) in reject reasons; in a one-document file its `line` is its 1-based position.

This module is the only code that knows the ledger's fields: `costkit ingest` stages what
`select_sql` returns, and `costkit audit --ledger` reconciles what `read_events` returns (the
same statement, with the few values only the audit uses), so the two read every file alike.

Fields:
- `id` is the request id (a stable hash of the event when absent); `model`; `endpoint`
  (`/v1/chat/completions` becomes `chat.completions`, as the other readers name it).
- `tokens.input` includes `tokens.cached`, unless cached > input and `tokens.total` shows
  that input excluded it (total >= input + cached + output): then cached is added to input.
- `tokens.output`: whether it includes reasoning is not documented. `in-output` (default):
  it does, and is stored whole (reasoning_tokens NULL: unknown, billed as output).
  `from-total`: reasoning = tokens.total - input - output (never below 0).
- `cost.amount` is `billed_cost` (parsed from the JSON text itself, exactly; never via a
  double), `cost.currency` its currency (USD when absent). With a discount,
  `metadata.list_cost` / `discount_amount` explain the amount; `cost.amount` stays the debit.
  Those two and `metadata.billed_cost`, when present, are read exactly the same way (for the
  audit) and must be numbers like `cost.amount`: an event stating a discount that cannot be
  read is rejected, since its debit cannot be explained.
- `metadata.tool_usage.web_search` is `search_calls`.
- `status` is kept as written (when absent, a `status_code` >= 400 is stored as `error`),
  so a failed request that was billed stays visible.
- time: `created_at`, `created` or `timestamp` (the first present; ISO 8601 or unix
  seconds); an event with none is rejected.
- `source` (api | playground) becomes the tag `source`, so spend can be split by it.
- failed (for the audit): a `status_code` >= 400, or a `status` other than one of
  SUCCESS_STATUSES (case-insensitive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from costkit.core.errors import InputError
from costkit.core.secrets import mask_secrets
from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    first_char,
    load_documents,
    money_bad_places,
    money_of,
    peek,
    raw_text,
    stage_select,
    staged_rows,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.records import TIME_RULE

NAME = "ledger"
LIST_FIELDS = ("data", "events", "usage", "items", "results")
TIME_FIELDS = ("created_at", "created", "timestamp")
REASONING_MODES = ("in-output", "from-total")
SUCCESS_STATUSES = ("success", "succeeded", "successful", "completed", "complete", "ok")

# Counts and amounts are parsed as text: validation shows them as written, and the amount
# is re-read exactly from the document (see AMOUNT).
STRUCTURE = {
    "id": "VARCHAR",
    "object": "VARCHAR",
    "model": "VARCHAR",
    "endpoint": "VARCHAR",
    "source": "VARCHAR",
    "status": "VARCHAR",
    "status_code": "VARCHAR",
    "tokens": {"input": "VARCHAR", "output": "VARCHAR", "cached": "VARCHAR", "total": "VARCHAR"},
    "cost": {"amount": "VARCHAR", "currency": "VARCHAR"},
    "metadata": {"tool_usage": {"web_search": "VARCHAR"}, "list_cost": "VARCHAR",
                 "billed_cost": "VARCHAR", "discount_amount": "VARCHAR"},
    "created_at": "VARCHAR",
    "created": "VARCHAR",
    "timestamp": "VARCHAR",
    "api_key_id": "VARCHAR",
    "user": "VARCHAR",
}

# A money value as written: a JSON number, or decimal digits in a string.
NUMBER = '"?\\s*(-?[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)'
# The `amount` of each `"cost": {...}` object, as written, in document order. DuckDB's JSON
# parser reads numbers as doubles; this keeps every digit. The k-th match belongs to the
# k-th event with a cost.amount; each pairing is checked (the same number as a double).
AMOUNT = '"cost"\\s*:\\s*\\{[^{}]*?"amount"\\s*:\\s*' + NUMBER


def _key(name: str) -> tuple[str, str]:
    return f'"{name}"', f'"{name}"\\s*:\\s*' + NUMBER


# Every money field: (label, parsed value, column of its text as written, text every document
# that has it contains (None: every event has it), how it is found in the document). Each is
# read exactly, as AMOUNT describes; only cost.amount is required.
MONEY = (
    ("cost.amount", "e.cost.amount", "amount_text", None, AMOUNT),
    ("metadata.list_cost", "e.metadata.list_cost", "list_cost_text", *_key("list_cost")),
    ("metadata.billed_cost", "e.metadata.billed_cost", "stated_cost_text", *_key("billed_cost")),
    ("metadata.discount_amount", "e.metadata.discount_amount", "discount_text",
     *_key("discount_amount")),
)

# What only the audit reads (`read_events`), after the staging columns. Not stored: the store
# keeps the debit (`billed_cost`); these explain it, and place an event in its file.
AUDIT_COLUMNS = {
    "pos": "BIGINT",  # 1-based position in its document (1 for an event on its own)
    "whole": "BOOLEAN",  # the file is one document: `line` is then the position
    "item": "VARCHAR",  # data[3] or [0] for an event inside a page or list, else NULL
    "failed": "BOOLEAN",
    "list_cost": "DECIMAL(38,12)",
    "stated_cost": "DECIMAL(38,12)",  # metadata.billed_cost
    "discount_amount": "DECIMAL(38,12)",
    "places": "INTEGER",  # the most decimal places any of its amounts is written with
}

COUNTS = (
    ("tokens.input", "e.tokens.input", True),
    ("tokens.output", "e.tokens.output", True),
    ("tokens.cached", "e.tokens.cached", False),
    ("tokens.total", "e.tokens.total", False),
    ("metadata.tool_usage.web_search", "e.metadata.tool_usage.web_search", False),
)

ENDPOINTS = {
    "chat/completions": "chat.completions",
    "chat.completions": "chat.completions",
    "responses": "responses",
    "messages": "messages",
}


# `"object": "usage_event"` as JSON, not inside a string (where its quotes are escaped):
# a chat log that talks about usage events is still a chat log.
RECOGNISE = re.compile(rb'(?<!\\)"object"\s*:\s*"usage_event"')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold a usage_event object."""
    return RECOGNISE.search(peek(source)) is not None


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    ledger_reasoning: str | None = None,
    audit: bool = False,
    **_: object,
) -> str:
    """SELECT of staging rows (records.STAGE_COLUMNS and the billed columns) for every
    event in `source`. `ledger_reasoning`: "in-output" (default) or "from-total". With
    `audit`, each row also has the AUDIT_COLUMNS (see `read_events`)."""
    reasoning = ledger_reasoning or "in-output"
    if reasoning not in REASONING_MODES:
        raise InputError(f"--ledger-reasoning {reasoning!r}: expected one of "
                         f"{', '.join(REASONING_MODES)}")
    docs = load_documents(con, source, NAME)
    return _sql(docs, project, tags, reasoning, audit)


def read_events(path: Path | str, ledger_reasoning: str | None = None,
                columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every record of the ledger file at `path`, as `costkit ingest` would stage it (the
    same statement: same values, same rejects with the same reasons), with AUDIT_COLUMNS,
    in file order (line, then position in its page): `columns` of them (default all; fewer
    convert faster). Read in a DuckDB of its own, in memory; nothing is stored. An
    unreadable file raises InputError."""
    def select(con: duckdb.DuckDBPyConnection, source: Source) -> str:
        return select_sql(con, source, ledger_reasoning=ledger_reasoning, audit=True)

    wanted = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
    return staged_rows(path, select, columns=wanted, order="line, pos NULLS FIRST")


def _places(text: str) -> str:
    """The decimal places a number's text shows, as Decimal counts them (1.50 -> 2,
    7.4e-05 -> 6, 5 -> 0)."""
    exponent = f"coalesce(TRY_CAST(nullif(regexp_extract({text}, '[eE]([-+]?[0-9]+)', 1), '') " \
               "AS INTEGER), 0)"
    return f"(length(regexp_extract({text}, '\\.([0-9]+)', 1)) - {exponent})"


def _money_problems() -> list[tuple[str, str]]:
    """(SQL true when bad, SQL reason) for each money field that is present."""
    out = []
    for label, value, text, _, _ in MONEY:
        given_ = f"{value} IS NOT NULL"
        out += [
            (f"{given_} AND ({text} IS NULL OR TRY_CAST({text} AS DOUBLE) IS DISTINCT FROM "
             f"TRY_CAST({value} AS DOUBLE))",
             f"{quote(label + ' is ')} || {json_text(value)} || "
             "'; expected a number written as decimal digits'"),
            (f"{given_} AND {money_of(text)} IS NULL",
             f"{quote(label + ' ')} || {text} || ' is out of range (at most 26 digits before "
             "the point)'"),
            (f"{given_} AND {money_bad_places(text)}",
             f"{quote(label + ' ')} || {text} || ' has more than 12 decimal places'"),
        ]
    return out


def _sql(docs: str, project: str | None, tags: dict[str, str] | None, reasoning: str,
         audit: bool = False) -> str:
    inp, out = count_of("e.tokens.input"), count_of("e.tokens.output")
    cached = f"coalesce({count_of('e.tokens.cached')}, 0)"
    total = count_of("e.tokens.total")
    # Input that excluded cached tokens, as the total shows it: then cached is added back.
    excluded = f"({cached} > {inp} AND {total} IS NOT NULL AND {total} >= {inp} + {cached} + {out})"
    input_tokens = f"(CASE WHEN {excluded} THEN {inp} + {cached} ELSE {inp} END)"
    reasoning_sql = "NULL" if reasoning == "in-output" else (
        f"(CASE WHEN {total} IS NOT NULL THEN greatest({total} - {input_tokens} - {out}, 0) END)")
    time_json = "coalesce(" + ", ".join(f"e.{f}" for f in TIME_FIELDS) + ")"
    time_label = "(CASE " + " ".join(f"WHEN e.{f} IS NOT NULL THEN {quote(f)}"
                                     for f in TIME_FIELDS) + " END)"
    endpoint_key = "regexp_replace(lower(trim(e.endpoint)), '^([a-z]+://[^/]+)?/*(v[0-9]+/)?', '')"
    endpoint = ("(CASE " + " ".join(f"WHEN {endpoint_key} = {quote(k)} THEN {quote(v)}"
                                    for k, v in ENDPOINTS.items()) + " ELSE e.endpoint END)")
    status = ("coalesce(e.status, CASE WHEN TRY_CAST(e.status_code AS DOUBLE) >= 400 "
              "THEN 'error' END)")
    cli_tags = tags_sql(tags)
    source_tag = "json_object('source', e.source)"
    tags_value = (f"(CASE WHEN e.source IS NULL THEN {cli_tags} "
                  f"ELSE json_merge_patch(coalesce({cli_tags}, '{{}}'::JSON), {source_tag}) END)")

    problems: list[tuple[str, str]] = [
        ("ev_type <> 'OBJECT'", "'not a usage_event object (JSON ' || lower(ev_type) || ')'"),
    ]
    for label, text, required in COUNTS:
        if required:
            problems.append((f"{text} IS NULL", quote(f"missing usage: no {label}")))
    for label, text, _ in COUNTS:
        problems.append((count_bad(text), count_reason(label, text)))
    money = _money_problems()
    problems += [
        (f"{cached} > {inp} AND NOT {excluded}",
         f"'tokens.cached (' || {cached} || ') > tokens.input (' || {inp} || ')'"),
        ("e.cost.amount IS NULL", "'missing cost.amount (what was debited)'"),
        *money[:3],  # cost.amount's
        (f"{time_json} IS NULL",
         quote("no time field (" + ", ".join(TIME_FIELDS[:-1]) + " or " + TIME_FIELDS[-1] + ")")),
        ("ts IS NULL", f"'unparseable time: ' || {time_label} || ' is ' || "
                       f"{json_text(time_json)} || {quote('; ' + TIME_RULE)}"),
        (f"{given('e.model')} IS NULL", "'missing model'"),
        *money[3:],  # the metadata amounts that explain a discount
    ]
    any_problem = " OR ".join(f"coalesce({cond}, FALSE)" for cond, _ in problems)
    first_problem = " ".join(f"WHEN coalesce({cond}, FALSE) THEN {why}" for cond, why in problems)
    list_field = "(CASE " + " ".join(
        f"WHEN json_type(x.{f}) = 'ARRAY' THEN {quote(f)}" for f in LIST_FIELDS) + " END)"
    is_event = "(x.object = 'usage_event' OR x.tokens IS NOT NULL OR x.cost IS NOT NULL)"
    events_of = "(CASE " + " ".join(
        f"WHEN field = {quote(f)} THEN json_extract(doc, '$.{f}[*]')" for f in LIST_FIELDS) + \
        " ELSE json_extract(doc, '$[*]') END)"
    own_text = "CASE WHEN shape = 'event' THEN doc ELSE ev::VARCHAR END"
    hashed = f"'sha256:' || left(sha256(json({own_text})), 32)"
    item = "(CASE WHEN shape = 'event' THEN NULL ELSE field || '[' || (pos - 1) || ']' END)"
    values = {
        "file_id": "file_id",
        "line": "CASE WHEN whole THEN pos ELSE line END",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": f"coalesce({given('e.id')}, {hashed})",
        "ts": "ts",
        "endpoint": endpoint,
        "model": "e.model",
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "cache_write_tokens": "0",
        "output_tokens": out,
        "reasoning_tokens": reasoning_sql,
        "search_calls": f"coalesce({count_of('e.metadata.tool_usage.web_search')}, 0)",
        "project": text_or_null(project),
        "api_key_id": mask_secrets("e.api_key_id", key=True),
        "user": "e.user",
        "tags": tags_value,
        "status": status,
        "billed_cost": money_of("amount_text"),
        "billed_currency": "coalesce(e.cost.currency, 'USD')",
        "reason": f"CASE WHEN {any_problem} THEN coalesce({item} || ': ', '') || "
                  f"(CASE {first_problem} END) END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text(own_text)} END",
    }
    doc_reject = {
        "file_id": "file_id", "line": "line", "kind": "'record'", "format": quote(NAME),
        "reason": "problem", "raw": raw_text("doc"),
    }
    extras = doc_extras = ""
    if audit:
        successes = ", ".join(quote(s) for s in SUCCESS_STATUSES)
        failed = (f"(coalesce(TRY_CAST(e.status_code AS DOUBLE) >= 400, FALSE) OR "
                  f"coalesce(lower(e.status) NOT IN ({successes}), FALSE))")
        places = "greatest(" + ", ".join(_places(text) for _, _, text, _, _ in MONEY) + ")"
        audit_values = {
            "pos": "pos", "whole": "whole", "item": item, "failed": failed,
            "list_cost": money_of("list_cost_text"), "stated_cost": money_of("stated_cost_text"),
            "discount_amount": money_of("discount_text"), "places": places,
        }
        extras = "".join(f',\n    CAST({audit_values[c]} AS {t}) AS "{c}"'
                         for c, t in AUDIT_COLUMNS.items())
        doc_extras = "".join(f',\n    CAST(NULL AS {t}) AS "{c}"' for c, t in AUDIT_COLUMNS.items())
    # Good events never reach the long CASE: `reason` and `raw` are NULL when no problem.
    top = quote(json.dumps({**STRUCTURE, **{f: "JSON" for f in LIST_FIELDS}}))
    # A regular expression over every document costs time: an optional field's runs only on
    # documents where its key is written.
    found = ", ".join(
        f"regexp_extract_all(doc, {quote(regex)}, 1) AS {text}s" if marker is None else
        f"CASE WHEN contains(doc, {quote(marker)}) "
        f"THEN regexp_extract_all(doc, {quote(regex)}, 1) END AS {text}s"
        for _, _, text, marker, regex in MONEY)
    lone = ", ".join(f"1 AS {text}_k" for _, _, text, _, _ in MONEY)
    # in a list, the k-th event with a value of a money field has the k-th such value of its
    # document
    kth = ", ".join(f"count({value}) OVER (PARTITION BY file_id, line ORDER BY pos "
                    f"ROWS UNBOUNDED PRECEDING) AS {text}_k" for _, value, text, _, _ in MONEY)
    # when the k-th is not the same number (another such key in between): the one that is
    paired = ", ".join(
        f"""CASE
        WHEN {value} IS NULL THEN NULL
        WHEN TRY_CAST({text}s[{text}_k] AS DOUBLE) = TRY_CAST({value} AS DOUBLE)
            THEN {text}s[{text}_k]
        ELSE list_filter({text}s, lambda a: TRY_CAST(a AS DOUBLE)
                                            = TRY_CAST({value} AS DOUBLE))[1]
        END AS {text}""" for _, value, text, _, _ in MONEY)
    # A document is parsed once, into the event's own fields plus the list fields: a lone
    # event (a JSONL line) is then read as it is; only a page's events are parsed again.
    return f"""
WITH docs AS ({docs}),
parsed AS (
    SELECT *, CASE WHEN NOT bad_utf8 THEN TRY(json_transform(doc, {top})) END AS x,
           {first_char('doc')} AS opener
    FROM docs
),
shaped AS MATERIALIZED (
    SELECT *,
        CASE WHEN x IS NULL THEN NULL
             WHEN opener = '[' THEN 'array'
             WHEN opener <> '{{' THEN NULL
             WHEN {is_event} THEN 'event'
             WHEN {list_field} IS NOT NULL THEN 'page' END AS shape,
        CASE WHEN opener = '[' THEN '' WHEN opener = '{{' AND NOT {is_event}
             THEN {list_field} END AS field
    FROM parsed
),
listed AS (
    SELECT * EXCLUDE (evs), unnest(evs) AS ev, generate_subscripts(evs, 1) AS pos
    FROM (SELECT file_id, line, whole, doc, shape, field, {events_of} AS evs, {found}
          FROM shaped WHERE shape IN ('array', 'page'))
),
events AS (
    SELECT file_id, line, whole, doc, shape, field, 1 AS pos, NULL::JSON AS ev,
           'OBJECT' AS ev_type, x AS e, {found}, {lone}
    FROM shaped WHERE shape = 'event'
    UNION ALL BY NAME
    SELECT *, {kth}
    FROM (SELECT *, json_type(ev) AS ev_type, TRY(json_transform(ev, {top})) AS e FROM listed)
),
paired AS (
    SELECT *, {paired}
    FROM events
),
timed AS (
    SELECT *, {time_of(time_json)} AS ts FROM paired
)
SELECT {stage_select(values)}{extras}
FROM timed
UNION ALL
SELECT {stage_select(doc_reject)}{doc_extras}
FROM (
    SELECT *, CASE
        WHEN bad_utf8 THEN 'not UTF-8 text'
        WHEN NOT json_valid(doc) THEN 'not JSON'
        WHEN opener NOT IN ('{{', '[') THEN 'JSON, but not an object'
        ELSE {quote('not a usage_event (object, tokens, cost) nor a page of them (a list '
                    'field: ' + ', '.join(LIST_FIELDS) + ')')} END AS problem
    FROM shaped WHERE shape IS NULL
)
"""
