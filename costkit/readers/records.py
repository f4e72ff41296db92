"""Lines to canonical records in one SQL statement: parse once, unwrap, detect, extract,
validate.

`records_sql(...)` returns a SELECT over a relation of lines (`file_id`, `line`, `text`,
`bad_utf8`) producing one row per non-blank line with the columns of `STAGE_COLUMNS`:
`kind` is `record` (one request), `part` (one piece of a stream, stitched later by the
ingest) or `skip` (SSE control lines, `[DONE]`, stream fragments). `reason` is NULL for a
good record, else why it is rejected. All the work runs inside DuckDB, vectorised.

Per-format SQL only picks values (a CASE on the detected format); validation is written
once over generic slots (count 1..n of whatever format), which keeps the statement small:
DuckDB plans it in milliseconds, and a good record is cleared by one flat test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from costkit.core.sql import quote
from costkit.readers import batch, envelope
from costkit.readers.base import (
    CANONICAL,
    WHITESPACE,
    RecordFormat,
    count_invalid,
    count_text,
    count_value,
    given,
    json_text,
    number,
    rstrip_space,
    seconds_time,
    text_time,
)

# The staging row: where it came from, what it is, the canonical values, why rejected.
STAGE_COLUMNS = {
    "file_id": "INTEGER",
    "line": "BIGINT",
    "kind": "VARCHAR",
    "format": "VARCHAR",
    "request_id": "VARCHAR",
    "stream_key": "VARCHAR",
    "has_usage": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
    "provider": "VARCHAR",
    "endpoint": "VARCHAR",
    "model": "VARCHAR",
    "input_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "search_calls": "BIGINT",
    "project": "VARCHAR",
    "api_key_id": "VARCHAR",
    "user": "VARCHAR",
    "tags": "JSON",
    "status": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
}

MALFORMED = "Malformed JSON"  # DuckDB's error for text json_transform cannot parse
RAW_LIMIT = 10_000  # characters of a rejected line kept; a reject is evidence, not a copy
SSE_CONTROL = ("event:", "id:", "retry:", ":")
COUNT_RULE = "token counts must be whole numbers >= 0"
TIME_RULE = "expected unix seconds or ISO 8601, within 2000..2099"


def merge_structures(parts: Sequence[dict]) -> dict:
    """Deep-merge json_transform structures; a field typed differently by two formats is a
    programming error."""
    out: dict = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = value
            elif isinstance(out[key], dict) and isinstance(value, dict):
                out[key] = merge_structures([out[key], value])
            elif out[key] != value:
                raise ValueError(f"field {key!r} typed {out[key]!r} and {value!r} by two formats")
    return out


class _Formats:
    """SQL builders over the formats in play (CASE on the detected `fmt`)."""

    def __init__(self, formats: Sequence[RecordFormat]):
        self.formats = list(formats)
        self.slots = max((len(f.counts) for f in formats), default=0)

    def case(self, sql_of: Callable[[RecordFormat], str | None], default: str = "NULL") -> str:
        """CASE over the detected format; formats sharing the same SQL share one branch (a
        record then meets fewer tests)."""
        branches: dict[str, list[str]] = {}
        for f in self.formats:
            sql = sql_of(f)
            if sql is not None:
                branches.setdefault(sql, []).append(quote(f.name))
        body = " ".join(f"WHEN fmt IN ({', '.join(names)}) THEN {sql}"
                        for sql, names in branches.items())
        return f"(CASE {body} ELSE {default} END)" if body else default

    def count(self, k: int) -> str:
        """Count k of the detected format as its JSON text (NULL when absent)."""
        return self.case(lambda f: f.counts[k].sql if k < len(f.counts) else None)

    def label(self, k: int) -> str:
        return self.case(lambda f: quote(f.counts[k].label) if k < len(f.counts) else None)

    def required(self, k: int) -> str:
        names = [quote(f.name) for f in self.formats if k < len(f.counts) and f.counts[k].required]
        return f"fmt IN ({', '.join(names)})" if names else "FALSE"

    def column(self, column: str) -> str:
        """Canonical column of the detected format; NULL when it gives none (search calls:
        then the envelope's, see records_sql)."""
        default = "NULL"
        return self.case(
            lambda f: f"CAST({typed(f, f.columns[column])} AS {CANONICAL[column]})"
            if column in f.columns else None,
            default=f"CAST({default} AS {CANONICAL[column]})",
        )

    def label_of(self, column: str, fallback: str) -> str:
        return self.case(lambda f: quote(f.labels[column]) if column in f.labels else None,
                         default=quote(fallback))


def typed(f: RecordFormat, sql: str) -> str:
    """`sql` (a format's column or check) with each `count_value(count k)` read from the
    slot `v{k}`, which holds that count parsed once: a chat record names its prompt count
    about ten times across its columns and checks, and parsing JSON text to DOUBLE each
    time was most of the statement. Exact: inside the CASE branch of format `f` (the only
    place this SQL runs), slot k is `f.counts[k]`, and `v{k}` is `count_value` of it."""
    # longest first, so a count whose SQL extends another's is replaced whole
    for k, c in sorted(enumerate(f.counts), key=lambda kc: -len(kc[1].sql)):
        sql = sql.replace(count_value(c.sql), f"v{k}")
    return sql


def _problems(fs: _Formats) -> list[tuple[str, str]]:
    """(SQL true when bad, SQL reason) in the order they are reported; over `extracted`."""
    out: list[tuple[str, str]] = []
    with_required = [quote(f.name) for f in fs.formats if any(c.required for c in f.counts)]
    required = [k for k in range(fs.slots) if fs.required(k) != "FALSE"]
    if with_required:
        none_given = " AND ".join(f"(g{k} IS NULL OR NOT ({fs.required(k)}))" for k in required)
        out.append((f"fmt IN ({', '.join(with_required)}) AND {none_given}",
                    fs.case(lambda f: quote("missing usage: no " + " / ".join(
                        c.label for c in f.counts if c.required)))))
    for k in required:
        out.append((f"g{k} IS NULL AND {fs.required(k)}",
                     f"'missing usage: ' || {fs.label(k)} || ' is absent'"))
    for k in range(fs.slots):
        out.append((count_invalid(f"n{k}", f"g{k}"),
                     f"{fs.label(k)} || ' is ' || {count_text(f'n{k}', f'g{k}')} || "
                     f"{quote('; ' + COUNT_RULE)}"))
    checks = [f for f in fs.formats if f.checks]
    for i in range(max((len(f.checks) for f in checks), default=0)):
        out.append((fs.case(lambda f, i=i: typed(f, f.checks[i][0])
                            if i < len(f.checks) else None, "FALSE"),
                    fs.case(lambda f, i=i: typed(f, f.checks[i][1])
                            if i < len(f.checks) else None)))
    cached = "c_cached_input_tokens + c_cache_write_tokens"
    out.append((
        f"{cached} > c_input_tokens",
        f"{fs.label_of('cached_input_tokens', 'cached input')} || ' (' || c_cached_input_tokens "
        f"|| ')' || (CASE WHEN c_cache_write_tokens > 0 THEN ' + ' || "
        f"{fs.label_of('cache_write_tokens', 'cache writes')} || ' (' || c_cache_write_tokens "
        f"|| ')' ELSE '' END) || ' > ' || {fs.label_of('input_tokens', 'input')} || ' (' || "
        f"c_input_tokens || ')'",
    ))
    out.append((
        "c_output_tokens < 0",
        f"{fs.label_of('reasoning_tokens', 'reasoning')} || ' (' || c_reasoning_tokens || "
        f"') > ' || {fs.label_of('output_tokens', 'output')} || ' (' || "
        f"(c_output_tokens + c_reasoning_tokens) || ')'",
    ))
    out.extend((f"is_env AND {bad}", why) for bad, why in envelope.CHECKS)
    out.append(("env_time IS NULL AND t_own IS NULL", fs.case(lambda f: quote(
        f.no_time_reason or f"no time: {f.time[1] if f.time else 'time'} is missing "
                            "(or not a number of unix seconds)"))))
    given_time = f"coalesce(env_time, {count_text('t_own')})"
    time_label = (f"(CASE WHEN is_env AND {envelope.TIME} IS NOT NULL THEN 'timestamp' "
                  f"ELSE {fs.case(lambda f: quote(f.time[1]) if f.time else None)} END)")
    out.append(("ts IS NULL", f"'unparseable time: ' || {time_label} || ' is ' || "
                              f"{json_text(given_time)} || "
                              f"{quote('; ' + TIME_RULE)}"))
    out.append(("c_model IS NULL", quote("missing model")))
    return out


def records_sql(
    formats: Sequence[RecordFormat],
    source: str,
    forced: str | None = None,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    optimistic: bool = False,
    detailed: bool = True,
) -> str:
    """SELECT turning the lines of relation `source` into staging rows (STAGE_COLUMNS).

    `forced`: a format name (every record is read as that format) or "envelope" (every
    line must be an envelope); None detects each record's format.
    `optimistic`: parse lines that look like one JSON object (`braced`) without TRY, which
    is cheaper; a malformed one then fails the whole statement (`MALFORMED` is in the
    error), and the caller runs it again with optimistic=False, where every bad line is a
    reject.
    `detailed=False`: a rejected row's reason is just 'rejected' and its raw text NULL; for
    a caller that keeps only the good records (a smaller statement, planned faster).
    """
    # One structure for every line: all formats' fields plus the envelope's. A wrapped
    # record (`response`) stays JSON text and is parsed again, with the same structure,
    # only when there is one: a plain line pays for one flat parse.
    top = merge_structures([*(f.structure for f in formats), envelope.STRUCTURE,
                            batch.STRUCTURE, {"response": "JSON", "type": "VARCHAR",
                                              "id": "VARCHAR"}])
    structure = quote(json.dumps(top))

    def parse(sql: str) -> str:
        return f"TRY(json_transform({sql}, {structure}))"

    def parse_object(sql: str) -> str:
        """A wrapped record: only an object is one (a string would parse as all-NULL)."""
        return f"(CASE WHEN json_type({sql}) = 'OBJECT' THEN {parse(sql)} END)"

    by_name = {f.name: f for f in formats}
    fs = _Formats([by_name[forced]] if forced in by_name else formats)

    sse = "starts_with(text, 'data:')"
    control = " OR ".join(f"starts_with(text, {quote(p)})" for p in SSE_CONTROL)
    fragment = " OR ".join(f"coalesce({f.fragment}, FALSE)" for f in fs.formats if f.fragment)
    fragment = fragment or "FALSE"
    detect = " ".join(f"WHEN {f.match} THEN {quote(f.name)}" for f in fs.formats)
    if forced in by_name:
        detect = f"WHEN TRUE THEN {quote(forced)}"
    must_wrap = "NOT is_env" if forced == envelope.NAME else "FALSE"
    slots = ",\n        ".join(f"{fs.count(k)} AS g{k}" for k in range(fs.slots))
    numbers = ",\n        ".join(f"{number(f'g{k}')} AS n{k}" for k in range(fs.slots))
    values = ",\n        ".join(f"TRY_CAST(n{k} AS BIGINT) AS v{k}" for k in range(fs.slots))
    def column_sql(c: str) -> str:
        if c == "model":  # a blank model is no model
            return f"coalesce({given(fs.column(c))}, {given('env_model')})"
        if c == "request_id":  # a blank id is no id
            return given(fs.column(c))
        return fs.column(c)

    columns = ",\n        ".join(f"{column_sql(c)} AS c_{c}" for c in CANONICAL if c != "ts")
    own_time = fs.case(lambda f: f.time[0] if f.time else None, "NULL::DOUBLE")
    problems = _problems(fs)
    any_problem = " OR ".join(f"({cond})" for cond, _ in problems)
    first_problem = " ".join(f"WHEN {cond} THEN {why}" for cond, why in problems)
    if not detailed:
        first_problem = "WHEN TRUE THEN 'rejected'"
    names = ", ".join(f.name for f in formats)
    unknown = quote(f"unknown shape: not one of {names} (nor an envelope of one)")
    cli_tags = quote(json.dumps(tags, sort_keys=True)) + "::JSON" if tags else "NULL::JSON"
    cli_project = quote(project) if project is not None else "NULL::VARCHAR"
    env = "(CASE WHEN is_env THEN {} END)".format
    merged_tags = f"json_merge_patch({cli_tags}, {envelope.TAGS})" if tags else envelope.TAGS
    # `json(body)` minifies, so a copy that differs only in whitespace hashes the same.
    hashed = "'sha256:' || left(sha256(json(body)), 32)"

    return f"""
WITH bodies AS (
    -- `text` keeps its line end: JSON parsing ignores it, and trimming every line would copy
    -- it; only a rejected line's raw text is trimmed.
    SELECT file_id, line, bad_utf8, braced, text,
        CASE WHEN {sse} THEN substr(text, 6) ELSE text END AS body,
        CASE WHEN bad_utf8 THEN 'line'
             WHEN {sse} THEN (CASE WHEN trim(substr(text, 6), {WHITESPACE}) = '[DONE]'
                                   THEN 'skip' ELSE 'line' END)
             WHEN {control} THEN 'skip'
             ELSE 'line' END AS line_kind
    FROM {source}
    -- Blank lines are no records. Only short lines are tested here (testing every line
    -- would copy it); a longer all-blank line fails to parse and is dropped at the end.
    WHERE CASE WHEN strlen(text) > 2 THEN TRUE ELSE trim(text, {WHITESPACE}) <> '' END
), parsed AS (
    SELECT *,
        CASE WHEN line_kind <> 'line' OR bad_utf8 THEN NULL
             {f"WHEN braced THEN json_transform(body, {structure})" if optimistic else ""}
             ELSE {parse('body')} END AS j
    FROM bodies
), unwrapped AS (
    -- a batch output line's body, an envelope's record, else the line itself
    SELECT *, CASE WHEN is_batch THEN {parse_object(batch.BODY)}
                   WHEN is_env THEN {parse_object('j.response')} ELSE j END AS x
    FROM (SELECT *, coalesce({envelope.MATCH}, FALSE) AND NOT is_batch AS is_env,
                 is_batch AND coalesce({batch.FAILED}, TRUE) AS batch_failed
          FROM (SELECT *, coalesce({batch.MATCH}, FALSE) AS is_batch FROM parsed))
), typed AS (
    -- a Responses streaming event's response, else the record itself
    SELECT *, CASE WHEN ev IS NOT NULL THEN {parse_object('x.response')} ELSE x END AS r
    FROM (SELECT *, CASE WHEN x.response IS NOT NULL AND starts_with(x.type, 'response.')
                         THEN x.type END AS ev
          FROM unwrapped)
), detected AS (
    SELECT *,
        CASE WHEN r IS NULL OR ({must_wrap}) OR ({fragment}) OR batch_failed THEN NULL
             {detect} END AS fmt,
        coalesce(r IS NOT NULL AND NOT ({must_wrap}) AND ({fragment}), FALSE)
            OR batch_failed AS is_fragment,
        {env(envelope.MODEL)} AS env_model,
        CASE WHEN is_env AND {envelope.TIME} IS NOT NULL THEN {envelope.TIME} END AS env_time
    FROM typed
), slotted AS (
    -- each count of the detected format once: its JSON text (g), DOUBLE (n), BIGINT (v);
    -- columns and checks below read the slots (see `typed`)
    SELECT *, {values} FROM (SELECT *, {numbers} FROM (SELECT *, {slots} FROM detected))
), extracted AS (
    SELECT *,
        {columns},
        {own_time} AS t_own,
        {fs.case(lambda f: f.stream_key)} AS stream_key,
        {fs.case(lambda f: f.has_usage)} AS has_usage
    FROM slotted
), judged AS (
    SELECT *,
        -- nearly every record is cleared by this first, flat test (fmt is NULL for lines
        -- that are skipped, unparsed or unknown)
        CASE WHEN fmt IS NOT NULL AND NOT coalesce({any_problem}, TRUE) THEN NULL
             WHEN line_kind = 'skip' OR is_fragment THEN NULL
             WHEN bad_utf8 THEN 'not UTF-8 text'
             WHEN j IS NULL AND json_valid(body) THEN 'JSON, but not an object'
             WHEN j IS NULL THEN 'not JSON'
             WHEN r IS NULL THEN 'envelope or event whose response is not a JSON object'
             WHEN {must_wrap} THEN 'not an envelope (--input-format envelope): no response object'
             WHEN fmt IS NULL AND NOT starts_with(ltrim(body, {WHITESPACE}), '{{')
                  THEN 'JSON, but not an object'
             WHEN fmt IS NULL THEN {unknown}
             ELSE (CASE {first_problem} END) END AS reason
    FROM (SELECT *, CASE WHEN env_time IS NOT NULL THEN {text_time('env_time')}
                         ELSE {seconds_time('t_own')} END AS ts
          FROM extracted)
)
SELECT
    file_id, line, kind,
    CASE WHEN fmt IS NULL THEN NULL WHEN is_env THEN 'envelope/' || fmt
         WHEN is_batch THEN {quote(batch.NAME + '/')} || fmt ELSE fmt END AS format,
    CASE WHEN line_kind = 'skip' OR is_fragment THEN NULL
         WHEN c_request_id IS NOT NULL THEN c_request_id
         WHEN is_env AND {envelope.REQUEST_ID} IS NOT NULL THEN {envelope.REQUEST_ID}
         WHEN is_batch AND {given('j.id')} IS NOT NULL THEN {given('j.id')}
         WHEN j IS NOT NULL THEN {hashed} END AS request_id,
    stream_key, has_usage, ts,
    {env(envelope.PROVIDER)} AS provider,
    {fs.case(lambda f: quote(f.endpoint) if f.endpoint else None)} AS endpoint,
    c_model AS model,
    c_input_tokens AS input_tokens, c_cached_input_tokens AS cached_input_tokens,
    c_cache_write_tokens AS cache_write_tokens, c_output_tokens AS output_tokens,
    c_reasoning_tokens AS reasoning_tokens,
    coalesce(c_search_calls, {env(envelope.SEARCH_CALLS)},
             CASE WHEN {env(envelope.SEARCH_ENABLED)} THEN NULL ELSE 0 END) AS search_calls,
    coalesce({env(envelope.PROJECT)}, c_project, {cli_project}) AS project,
    {env(envelope.API_KEY_ID)} AS api_key_id,
    coalesce({env(envelope.USER)}, c_user) AS "user",
    CASE WHEN is_env AND {envelope.TAGS} IS NOT NULL AND json_type({envelope.TAGS}) = 'OBJECT'
         THEN {merged_tags}
         WHEN is_batch THEN json_merge_patch(coalesce({cli_tags}, '{{}}'::JSON), {batch.TAGS})
         ELSE {cli_tags} END AS tags,
    coalesce({env(envelope.STATUS)}, c_status) AS status,
    reason,
    {f"CASE WHEN reason IS NOT NULL OR stream_key IS NOT NULL THEN "
     f"left({rstrip_space('text')}, {RAW_LIMIT}) END" if detailed else "NULL::VARCHAR"} AS raw
FROM (SELECT *,
        CASE WHEN line_kind = 'skip' OR is_fragment THEN 'skip'
             WHEN j IS NOT NULL THEN (CASE WHEN stream_key IS NOT NULL THEN 'part'
                                           ELSE 'record' END)
             -- a long all-blank line (see `bodies`); tested only where parsing failed
             WHEN NOT bad_utf8 AND trim(body, {WHITESPACE}) = '' THEN 'blank'
             ELSE 'record' END AS kind
      FROM judged)
WHERE kind <> 'blank'
"""
