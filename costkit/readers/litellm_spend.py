"""LiteLLM proxy spend logs: rows of its `LiteLLM_SpendLogs` table, one per request, as the
proxy's /spend/logs API returns them (a JSON array, or a `{"data": [...]}` page of
/spend/logs/v2), one row per line (JSONL), one row pretty-printed, or a CSV export of the
table (a header with `spend` and `prompt_tokens`).

Per row:
- request id: `request_id` (a stable hash of the row when absent).
- time: `startTime` (ISO 8601; naive is UTC), else `endTime`.
- model: `model` (the deployment's model), else `model_group` (the name clients used).
- tokens: `prompt_tokens` includes cache reads and cache writes (LiteLLM's usage object
  counts an Anthropic request's cached and cache-creation tokens into it) and
  `completion_tokens` includes reasoning. The split comes from `metadata.usage_object`:
  cache reads `prompt_tokens_details.cached_tokens` (or `cache_read_input_tokens`), cache
  writes `cache_creation_input_tokens` (or `prompt_tokens_details.cache_creation_tokens`),
  reasoning `completion_tokens_details.reasoning_tokens`. `metadata` may be an object or
  JSON text (as a CSV cell holds it).
- billed: `spend` is `billed_cost` (USD), read from the digits as written.
- who: `api_key` (the hashed key) is the key id; `end_user` (the request's `user`) else
  `user` is the user; the team (`metadata.user_api_key_team_alias`, else `team_id`) is the
  project, else --project; `request_tags` (a list; `name:value` entries split at the first
  colon, others tagged "true") are tags.
- endpoint: `call_type` completion/acompletion is chat.completions, responses is
  responses, anthropic_messages is messages, embedding is embeddings; others keep theirs.
- provider: `custom_llm_provider`. status: `status` (else `metadata.status`).

A row with `cache_hit` true was answered from LiteLLM's own cache: no provider request and
nothing billed, so it is skipped (counted), not priced.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.errors import InputError
from costkit.core.secrets import mask_secrets
from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.csv_mapped import CSV_OPTIONS, detect_delimiter, read_header
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    is_gzip,
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
from costkit.readers.records import TIME_RULE

NAME = "litellm-spend"
LIST_FIELDS = ("data", "logs")
CSV_EXTENSIONS = (".csv", ".csv.gz", ".tsv", ".tsv.gz")

ENDPOINTS = {
    "completion": "chat.completions", "acompletion": "chat.completions",
    "text_completion": "completions", "atext_completion": "completions",
    "responses": "responses", "aresponses": "responses",
    "anthropic_messages": "messages", "aanthropic_messages": "messages",
    "embedding": "embeddings", "aembedding": "embeddings",
}

# JSON: a `"spend":` and a `"prompt_tokens":` key, and one of the table's own columns.
SPEND = re.compile(rb'(?<!\\)"spend"\s*:')
TOKENS = re.compile(rb'(?<!\\)"prompt_tokens"\s*:')
OWN = re.compile(rb'(?<!\\)"(startTime|request_id|api_key|model_group|call_type|request_tags)"'
                 rb'\s*:')
CSV_COLUMNS = {"spend", "prompt_tokens"}
CSV_ANY = {"starttime", "request_id", "model_group", "call_type"}


def _is_csv(source: Source) -> bool:
    return source.name.lower().endswith(CSV_EXTENSIONS)


def recognises(source: Source) -> bool:
    """A JSON file whose first 64 KB hold a spend log row, or a CSV whose header has the
    table's columns (spend, prompt_tokens, and startTime, request_id, model_group or
    call_type)."""
    head = peek(source)
    if _is_csv(source):
        first = head.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n", 1)[0]
        names = {n.strip().strip('"').lower() for n in re.split(r"[,;\t|]", first)}
        return CSV_COLUMNS <= names and bool(CSV_ANY & names)
    return bool(SPEND.search(head) and TOKENS.search(head) and OWN.search(head))


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (with billed_cost) for every spend log row in `source`."""
    if _is_csv(source):
        items = _csv_items(con, source)
    else:
        items = items_sql(load_documents(con, source, "litellm_spend"), LIST_FIELDS,
                          numbers=("spend",))
    return _sql(items, project, tags)


def _csv_items(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    """The rows of a CSV export as items (each row a JSON object of its cells, as text),
    numbered in file order; a row DuckDB cannot split into the header's fields is an item
    with a problem."""
    if source.path is None:
        raise InputError(f"{source.name}: a CSV must be a file")
    head = peek(source)
    delimiter = detect_delimiter(head)
    header = read_header(head, delimiter, source.name)
    spec = "{" + ", ".join(f"{quote(h)}: 'VARCHAR'" for h in header) + "}"
    options = f"delim = {quote(delimiter)}, {CSV_OPTIONS}, columns = {spec}"
    if is_gzip(source):
        options += ", compression = 'gzip'"
    n = source.file_id
    rows, rejects, scans = (f"costkit_litellm_rows_{n}", f"costkit_litellm_rejects_{n}",
                            f"costkit_litellm_scans_{n}")
    for table in (rejects, scans):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {rows} AS
            SELECT row_number() OVER () AS k_n, to_json(t) AS item
            FROM read_csv({quote(str(source.path))}, {options}, store_rejects = true,
                          rejects_table = {quote(rejects)}, rejects_scan = {quote(scans)}) t
        """)
    except duckdb.Error as exc:
        raise InputError(f"{source.name}: cannot read as CSV: "
                         f"{str(exc).splitlines()[0]}") from None
    finally:
        con.execute(f"SET preserve_insertion_order = {str(bool(kept)).lower()}")
    # A row's line: its number after the header, plus the malformed rows before it (exact
    # when no quoted cell spans lines).
    return f"""
        SELECT {n} AS file_id, k_n + 1 + (SELECT count(DISTINCT line) FROM {rejects} x
                                          WHERE x.line <= k_n + 1) AS line,
               item, 'OBJECT' AS item_type, '' AS item_at, NULL::VARCHAR AS problem,
               item::VARCHAR AS raw
        FROM {rows}
        UNION ALL
        SELECT {n}, line, NULL::JSON, NULL, '', 'not a CSV row of the header''s '
               || {len(header)} || ' fields: ' || any_value(error_message), any_value(csv_line)
        FROM {rejects} GROUP BY line
    """


def _f(field: str) -> str:
    return f"json_extract_string(item, {quote('$.' + field)})"


def _u(path: str) -> str:
    return f"json_extract_string(meta, {quote('$.usage_object.' + path)})"


def _sql(items: str, project: str | None, tags: dict[str, str] | None) -> str:
    counts = {  # label -> text
        "prompt_tokens": _f("prompt_tokens"),
        "completion_tokens": _f("completion_tokens"),
        "metadata.usage_object cache reads": (
            f"coalesce({_u('prompt_tokens_details.cached_tokens')}, "
            f"{_u('cache_read_input_tokens')})"),
        "metadata.usage_object.cache_creation_input_tokens": (
            f"coalesce({_u('cache_creation_input_tokens')}, "
            f"{_u('prompt_tokens_details.cache_creation_tokens')})"),
        "metadata.usage_object.completion_tokens_details.reasoning_tokens":
            _u("completion_tokens_details.reasoning_tokens"),
    }
    labels = list(counts)
    prompt, completion = count_of("c_prompt"), count_of("c_completion")
    read, write, reasoning = (f"coalesce({count_of('c_read')}, 0)",
                              f"coalesce({count_of('c_write')}, 0)", count_of("c_reasoning"))
    time_text = f"coalesce({_f('startTime')}, {_f('endTime')})"
    time_label = f"(CASE WHEN {_f('startTime')} IS NOT NULL THEN 'startTime' ELSE 'endTime' END)"
    call = f"lower({_f('call_type')})"
    endpoint = ("(CASE " + " ".join(f"WHEN {call} = {quote(k)} THEN {quote(v)}"
                                    for k, v in ENDPOINTS.items())
                + f" ELSE {_f('call_type')} END)")
    spend = _f("spend")
    alias = f"json_extract_string(meta, {quote('$.user_api_key_team_alias')})"
    team = f"coalesce({given(alias)}, {given(_f('team_id'))})"
    cache_hit = f"coalesce(lower({_f('cache_hit')}) IN ('true', '1'), FALSE)"
    cli_tags = tags_sql(tags)
    tags_value = (f"(CASE WHEN own_tags IS NULL THEN {cli_tags} ELSE "
                  f"json_merge_patch(coalesce({cli_tags}, '{{}}'::JSON), own_tags) END)")
    hashed = "'sha256:' || left(sha256(json(item)), 32)"

    problems: list[tuple[str, str]] = [
        ("problem IS NOT NULL", "problem"),
        ("item_type <> 'OBJECT'", "'not a spend log row (JSON ' || lower(item_type) || ')'"),
        ("c_prompt IS NULL", quote("missing usage: no prompt_tokens")),
        ("c_completion IS NULL", quote("missing usage: no completion_tokens")),
    ]
    for label, column in zip(labels, ("c_prompt", "c_completion", "c_read", "c_write",
                                      "c_reasoning"), strict=True):
        problems.append((count_bad(column), count_reason(label, column)))
    problems += [
        (f"{read} + {write} > {prompt}",
         f"'cache reads + cache writes (' || ({read} + {write}) || ') > prompt_tokens (' || "
         f"{prompt} || ')'"),
        (f"{reasoning} > {completion}",
         f"'completion_tokens_details.reasoning_tokens (' || {reasoning} || ') > "
         f"completion_tokens (' || {completion} || ')'"),
        (f"{spend} IS NOT NULL AND {money_of(spend)} IS NULL",
         f"'spend is ' || {json_text(spend)} || '; expected a number of USD'"),
        (f"{spend} IS NOT NULL AND {money_bad_places(spend)}",
         f"'spend ' || {spend} || ' has more than 12 decimal places'"),
        (f"{time_text} IS NULL", quote("no time: startTime and endTime are missing")),
        ("ts IS NULL", f"'unparseable time: ' || {time_label} || ' is ' || "
                       f"{json_text(time_text)} || {quote('; ' + TIME_RULE)}"),
        (f"{given(_f('model'))} IS NULL AND {given(_f('model_group'))} IS NULL",
         quote("missing model (model, model_group)")),
    ]
    any_problem, first_problem = judge(problems)
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": f"CASE WHEN NOT {any_problem} AND {cache_hit} THEN 'skip' ELSE 'record' END",
        "format": quote(NAME),
        "request_id": f"coalesce({given(_f('request_id'))}, {hashed})",
        "ts": "ts",
        "provider": given(_f("custom_llm_provider")),
        "endpoint": endpoint,
        "model": f"coalesce({given(_f('model'))}, {given(_f('model_group'))})",
        "input_tokens": prompt,
        "cached_input_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": f"{completion} - coalesce({reasoning}, 0)",
        "reasoning_tokens": reasoning,
        "search_calls": "0",
        "project": f"coalesce({team}, {text_or_null(project)})",
        "api_key_id": mask_secrets(given(_f("api_key")), key=True),
        "user": f"coalesce({given(_f('end_user'))}, {given(_f('user'))})",
        "tags": tags_value,
        "status": f"coalesce({given(_f('status'))}, "
                  f"{given('json_extract_string(meta, ' + quote('$.status') + ')')})",
        "billed_cost": money_of(spend),
        "billed_currency": f"CASE WHEN {spend} IS NOT NULL THEN 'USD' END",
        "reason": f"CASE WHEN {any_problem} THEN item_at || {first_problem} END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text('raw')} END",
    }
    # request_tags: a JSON list, or its text (a CSV cell); `name:value` splits at the first
    # colon, a bare tag is "true"; the last of a repeated name wins.
    tag_list = ("(CASE WHEN json_type(item, '$.request_tags') = 'VARCHAR' "
                "THEN TRY_CAST(json_extract_string(item, '$.request_tags') AS JSON) "
                "ELSE json_extract(item, '$.request_tags') END)")
    return f"""
WITH items AS ({items}),
extracted AS (
    SELECT *,
        {counts[labels[0]]} AS c_prompt, {counts[labels[1]]} AS c_completion,
        {counts[labels[2]]} AS c_read, {counts[labels[3]]} AS c_write,
        {counts[labels[4]]} AS c_reasoning,
        {time_of(time_text)} AS ts,
        (SELECT nullif(json_group_object(name, value)::VARCHAR, '{{}}')::JSON FROM (
            SELECT CASE WHEN contains(t, ':') THEN split_part(t, ':', 1) ELSE t END AS name,
                   arg_max(CASE WHEN contains(t, ':') THEN substr(t, strpos(t, ':') + 1)
                                ELSE 'true' END, i) AS value
            FROM (SELECT unnest(tl) AS t, generate_subscripts(tl, 1) AS i)
            WHERE nullif(trim(t), '') IS NOT NULL
            GROUP BY 1)) AS own_tags
    FROM (SELECT *,
              CASE WHEN json_type(item, '$.metadata') = 'VARCHAR'
                   THEN TRY_CAST(json_extract_string(item, '$.metadata') AS JSON)
                   ELSE json_extract(item, '$.metadata') END AS meta,
              CASE WHEN json_type({tag_list}) = 'ARRAY'
                   THEN json_extract_string({tag_list}, '$[*]') END AS tl
          FROM items)
)
SELECT {stage_select(values)}
FROM extracted
"""
