"""Any CSV with a header row (a gateway's dashboard export, a spreadsheet, a request trace),
read through a column mapping (`costkit.readers.mappings`) into canonical usage rows.

DuckDB's `read_csv` does the reading: every cell as text, the delimiter chosen here from
the header line (`,` `;` tab `|`, outside quotes; `--delimiter` overrides), `"` quotes
and `""` escapes (RFC 4180), no guessing of types. All validation is SQL over those
cells: nothing runs per row in Python.

- A column is found by the name `--map FIELD=COLUMN` gives (exactly, else ignoring case),
  else by a usual header name for the field (mappings.FIELDS). `ts`, `input_tokens`,
  `output_tokens` and a model (a column, or `--model`) are required: a file without them
  stops the ingest with a message naming the file and its columns.
- Time: unix seconds, or ISO 8601 with any number of fractional digits
  (`2023-11-16 18:17:03.9799600`); one without a zone is read in `--tz` (default UTC).
- `input_tokens` includes cached and cache-write tokens (the store's convention).
  `output_tokens` includes the reasoning column's tokens unless the mapping says
  `separate` (see CsvMapping); without a reasoning column, reasoning is unknown (NULL)
  and output holds all of it.
- A row without a request id gets a stable hash of its cells and its line, so ingesting
  the same file again, or a copy of it, adds nothing.
- Bad rows (a count that is not a whole number >= 0, an unparseable time, no model, a
  billed_cost that is no number, a row with more or fewer fields than the header) are
  rejects with their line and reason; they never stop the ingest. A row's `line` is its
  line in the file when no quoted cell spans lines (then: the header's line + its row).
"""

from __future__ import annotations

import csv
import io

import duckdb

from costkit.errors import InputError
from costkit.readers.base import mask_key, quote
from costkit.readers.documents import (
    count_bad,
    count_of,
    is_gzip,
    money_bad_places,
    money_of,
    peek,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.mappings import FIELDS, REQUIRED, TAG_PREFIX, CsvMapping
from costkit.readers.records import COUNT_RULE, RAW_LIMIT

NAME = "csv"
EXTENSIONS = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
CANDIDATES = (",", ";", "\t", "|")
CSV_OPTIONS = "quote = '\"', escape = '\"', header = true, auto_detect = false"


def recognises(source: Source) -> bool:
    """A file named *.csv or *.tsv (optionally .gz)."""
    return source.path is not None and source.name.lower().endswith(EXTENSIONS)


def detect_delimiter(head: bytes) -> str:
    """The delimiter of a CSV from its first bytes: the candidate found most often outside
    quotes on the header line (`,` when none is)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    header = next((line for line in text.splitlines() if line.strip()), "")
    best, best_count = ",", 0
    for candidate in CANDIDATES:
        try:
            fields = next(csv.reader(io.StringIO(header), delimiter=candidate))
        except (csv.Error, StopIteration):
            continue
        if len(fields) - 1 > best_count:
            best, best_count = candidate, len(fields) - 1
    return best


def read_header(head: bytes, delimiter: str, where: str) -> list[str]:
    """The column names on the first line of a CSV (quotes honoured); a repeated name gets
    a suffix (`cost`, `cost_2`) and an empty one its position (`column3`), as the columns
    must be told apart."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        names = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as exc:
        raise InputError(f"{where}: cannot read the CSV header: {exc}") from None
    if not any(n.strip() for n in names):
        raise InputError(f"{where}: no CSV header on the first line (costkit needs column names)")
    out: list[str] = []
    for i, name in enumerate(names, start=1):
        name = name.strip() or f"column{i}"
        unique, k = name, 2
        while unique in out:
            unique, k = f"{name}_{k}", k + 1
        out.append(unique)
    return out


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normal(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def resolve_columns(mapping: CsvMapping, header: list[str], where: str) -> dict[str, str]:
    """{field or tag:NAME: header column} for this file; InputError when a mapped column is
    missing or a required field has no column."""
    found: dict[str, str] = {}
    lowered: dict[str, list[str]] = {}
    for name in header:
        lowered.setdefault(name.lower(), []).append(name)
    shown = ", ".join(header) if len(header) <= 30 else ", ".join(header[:30]) + ", ..."
    for key, column in mapping.columns.items():
        if column == "":
            continue
        if column in header:
            found[key] = column
        elif len(lowered.get(column.lower(), [])) == 1:
            found[key] = lowered[column.lower()][0]
        else:
            raise InputError(f"{where}: --map {key}={column}: no such column "
                             f"(columns: {shown})")
    by_normal = {}
    for name in header:
        by_normal.setdefault(_normal(name), name)
    for key, aliases in FIELDS.items():
        if key in found or key in mapping.columns:
            continue
        match = next((by_normal[a] for a in aliases if a in by_normal), None)
        if match is not None and match not in found.values():
            found[key] = match
    missing = [k for k in REQUIRED if k not in found]
    if "model" not in found and mapping.model is None:
        missing.append("model")
    if missing:
        hints = " ".join(f"--map {k}=COLUMN" if k != "model" else "--model NAME (or --map "
                         "model=COLUMN)" for k in missing)
        raise InputError(f"{where}: no column for {', '.join(missing)}; give {hints} "
                         f"(columns: {shown})")
    return found


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    mapping: CsvMapping | None = None,
    project: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """SELECT of staging rows (records.STAGE_COLUMNS) for every row of the CSV `source`.

    Reads the file twice: first to collect the rows DuckDB cannot split into the header's
    fields (they become rejects, and fix the line numbers of the rows after them), then,
    in the returned SELECT, every good row."""
    mapping = mapping or CsvMapping()
    if source.path is None:
        raise InputError(f"{source.name}: a CSV must be a file")
    delimiter = mapping.delimiter or detect_delimiter(peek(source))
    path = quote(str(source.path))
    options = f"delim = {quote(delimiter)}, {CSV_OPTIONS}"
    if is_gzip(source):
        options += ", compression = 'gzip'"
    header = read_header(peek(source), delimiter, source.name)
    columns = resolve_columns(mapping, header, source.name)
    spec = "{" + ", ".join(f"{quote(h)}: 'VARCHAR'" for h in header) + "}"
    read = f"read_csv({path}, {options}, columns = {spec}"

    n = source.file_id
    rejects, scans = f"costkit_csv_rejects_{n}", f"costkit_csv_scans_{n}"
    con.execute(f"DROP TABLE IF EXISTS {rejects}")
    con.execute(f"DROP TABLE IF EXISTS {scans}")
    try:
        con.execute(f"SELECT count(*) FROM {read}, store_rejects = true, "
                    f"rejects_table = {quote(rejects)}, rejects_scan = {quote(scans)})").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{source.name}: cannot read as CSV: "
                         f"{str(exc).splitlines()[0]}") from None
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE costkit_csv_bad_{n} AS
        SELECT line, row_number() OVER (ORDER BY line) AS i, any_value(error_type) AS error_type,
               any_value(error_message) AS error_message, any_value(csv_line) AS csv_line
        FROM {rejects} GROUP BY line
    """)
    bad_rows = con.execute(f"SELECT count(*) FROM costkit_csv_bad_{n}").fetchall()[0][0]
    return _sql(n, f"{read}, ignore_errors = true)", f"costkit_csv_bad_{n}", bad_rows > 0,
                header, columns, mapping, delimiter, project, tags)


def _sql(file_id: int, read: str, bad: str, has_bad: bool, header: list[str],
         columns: dict[str, str], mapping: CsvMapping, delimiter: str, project: str | None,
         tags: dict[str, str] | None) -> str:
    def cell(key: str) -> str:
        """The field's cell, trimmed, NULL when empty or unmapped."""
        if key not in columns:
            return "NULL::VARCHAR"
        return f"nullif(trim(c.{_ident(columns[key])}), '')"

    def label(key: str) -> str:
        return f"{key} (column {columns[key]})" if key in columns else key

    inp, out = count_of(cell("input_tokens")), count_of(cell("output_tokens"))
    cached = f"coalesce({count_of(cell('cached_input_tokens'))}, 0)"
    written = f"coalesce({count_of(cell('cache_write_tokens'))}, 0)"
    reasoning = count_of(cell("reasoning_tokens"))
    output = out if mapping.reasoning == "separate" else f"{out} - coalesce({reasoning}, 0)"
    model = f"coalesce({cell('model')}, {text_or_null(mapping.model)})"
    money = f"ltrim({cell('billed_cost')}, '$')"
    ts = time_of(cell("ts"), mapping.tz)
    zone = "" if mapping.tz == "UTC" else f" (times without a zone read in {mapping.tz})"
    time_rule = f"; expected unix seconds or ISO 8601{zone}, within 2000..2099"

    problems: list[tuple[str, str]] = []
    for key in ("input_tokens", "output_tokens"):
        problems.append((f"{cell(key)} IS NULL", quote(f"missing {label(key)}")))
    for key in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                "reasoning_tokens", "search_calls"):
        if key in columns:
            problems.append((count_bad(cell(key)),
                             f"{quote(label(key) + ' is ')} || left({cell(key)}, 80) || "
                             f"{quote('; ' + COUNT_RULE)}"))
    parts = [label(k) for k in ("cached_input_tokens", "cache_write_tokens") if k in columns]
    problems.append((f"{cached} + {written} > {inp}",
                     f"{quote(' + '.join(parts))} || ' (' || ({cached} + {written}) || ') > ' || "
                     f"{quote(label('input_tokens'))} || ' (' || {inp} || ')'"))
    if mapping.reasoning == "in-output" and "reasoning_tokens" in columns:
        problems.append((f"{reasoning} > {out}",
                         f"{quote(label('reasoning_tokens') + ' (')} || {reasoning} || ') > ' || "
                         f"{quote(label('output_tokens') + ' (')} || {out} || "
                         "'), which includes it (--csv-reasoning in-output)'"))
    problems += [
        (f"{cell('ts')} IS NULL", quote(f"missing time: {label('ts')} is empty")),
        ("costkit_ts IS NULL", f"{quote('unparseable time: ' + label('ts') + ' is ')} || "
                       f"left({cell('ts')}, 80) || "
                       f"{quote(time_rule)}"),
        (f"{model} IS NULL", quote(f"missing model: {label('model')} is empty and no --model "
                                   "was given" if "model" in columns else "missing model")),
    ]
    if "billed_cost" in columns:
        problems += [
            (f"{money} IS NOT NULL AND {money_of(money)} IS NULL",
             f"{quote(label('billed_cost') + ' is ')} || left({cell('billed_cost')}, 80) || "
             "'; expected a decimal number'"),
            (f"{money} IS NOT NULL AND {money_bad_places(money)}",
             f"{quote(label('billed_cost') + ' ')} || {money} || "
             "' has more than 12 decimal places'"),
        ]
    any_problem = " OR ".join(f"coalesce({cond}, FALSE)" for cond, _ in problems)
    first_problem = " ".join(f"WHEN coalesce({cond}, FALSE) THEN {why}" for cond, why in problems)

    every = ", ".join(f"coalesce(c.{_ident(h)}, '')" for h in header)
    hashed = f"'sha256:' || left(sha256(concat_ws(chr(31), costkit_line, {every})), 32)"
    raw = f"left(concat_ws({quote(delimiter)}, {every}), {RAW_LIMIT})"
    tag_keys = {k[len(TAG_PREFIX):]: v for k, v in columns.items() if k.startswith(TAG_PREFIX)}
    tags_value = tags_sql(tags)
    if tag_keys:
        pairs = ", ".join(f"{quote(name)}, nullif(trim(c.{_ident(col)}), '')"
                          for name, col in tag_keys.items())
        tags_value = (f"nullif(json_merge_patch(coalesce({tags_value}, '{{}}'::JSON), "
                      f"json_object({pairs})), '{{}}'::JSON)")
    currency = cell("billed_currency")
    values = {
        "file_id": str(int(file_id)),
        "line": "costkit_line",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": f"coalesce({cell('request_id')}, {hashed})",
        "ts": "costkit_ts",
        "provider": cell("provider"),
        "endpoint": cell("endpoint"),
        "model": model,
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_tokens": written,
        "output_tokens": output,
        "reasoning_tokens": reasoning,
        "search_calls": f"coalesce({count_of(cell('search_calls'))}, 0)",
        "project": f"coalesce({cell('project')}, {text_or_null(project)})",
        "api_key_id": mask_key(cell("api_key_id")),
        "user": cell("user"),
        "tags": tags_value,
        "status": cell("status"),
        "billed_cost": money_of(money),
        "billed_currency": f"CASE WHEN {money} IS NOT NULL THEN {currency} END",
        "reason": f"CASE WHEN {any_problem} THEN (CASE {first_problem} END) END",
        "raw": f"CASE WHEN {any_problem} THEN {raw} END",
    }
    if has_bad:
        # Each row DuckDB could not split moved the rows after it down by one line.
        numbered = f"""(
            SELECT r.* EXCLUDE (costkit_n), r.costkit_n + 1 + coalesce(b.i, 0) AS costkit_line
            FROM (SELECT row_number() OVER () AS costkit_n, * FROM {read}) r
            ASOF LEFT JOIN (SELECT line - 1 - i AS before, i FROM {bad}) b
              ON r.costkit_n > b.before
        )"""
    else:
        numbered = f"(SELECT row_number() OVER () + 1 AS costkit_line, * FROM {read})"
    bad_row = {
        "file_id": str(int(file_id)), "line": "line", "kind": "'record'",
        "format": quote(NAME),
        "reason": ("CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN "
                   f"'row has a different number of fields than the header ({len(header)}): ' "
                   "|| error_message "
                   "ELSE lower(error_type::VARCHAR) || ': ' || error_message END"),
        "raw": f"left(rtrim(csv_line, chr(13) || chr(10)), {RAW_LIMIT})",
    }
    return f"""
SELECT {stage_select(values)}
FROM (SELECT *, {ts} AS costkit_ts FROM {numbered} c) c
UNION ALL
SELECT {stage_select(bad_row)}
FROM {bad}
"""
