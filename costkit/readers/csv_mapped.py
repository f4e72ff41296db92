"""Any CSV with a header row (a gateway's dashboard export, a spreadsheet, a request trace),
read through a column mapping (`costkit.readers.mappings`) into canonical usage rows.

DuckDB's `read_csv` does the reading: every cell as text, the delimiter found on the
header line (`mappings.detect_delimiter`: `,` `;` tab `|`, outside quotes; `--delimiter`
overrides), `"` quotes and `""` escapes (RFC 4180), no guessing of types. All validation
is SQL over those cells: nothing runs per row in Python.

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
- A row without a request id gets a stable hash of its cells and of which copy of those
  cells it is within its file (never of its line), so ingesting the same file again, a copy,
  a re-sorted or an overlapping export adds nothing, while identical rows in one file are
  each a request.
- Bad rows (a count that is not a whole number >= 0, an unparseable time, no model, a
  billed_cost that is no number, a row with more or fewer fields than the header) are
  rejects with their line and reason; they never stop the ingest. A row's `line` is its
  line in the file (blank lines and rejected rows counted) when no quoted cell spans
  lines; when one does, its row number after the header (and the rejects before it).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import duckdb

from costkit.core.errors import InputError
from costkit.core.secrets import mask_secrets
from costkit.core.sql import quote
from costkit.readers.base import given
from costkit.readers.documents import (
    in_range,
    is_gzip,
    load_lines,
    money_bad_places,
    money_of,
    peek,
    stage_select,
    tags_sql,
    text_or_null,
    time_unchecked,
)
from costkit.readers.lines import Source
from costkit.readers.mappings import FIELDS, REQUIRED, TAG_PREFIX, CsvMapping, detect_delimiter
from costkit.readers.records import COUNT_RULE, RAW_LIMIT

NAME = "csv"
EXTENSIONS = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
CSV_OPTIONS = "quote = '\"', escape = '\"', header = true, auto_detect = false"


def recognises(source: Source) -> bool:
    """A file named *.csv or *.tsv (optionally .gz)."""
    return source.path is not None and source.name.lower().endswith(EXTENSIONS)


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


@dataclass(frozen=True)
class CsvPlan:
    """What both paths read a CSV with: its header, the mapped columns and read_csv's
    options (every cell as text)."""

    header: list[str]
    columns: dict[str, str]
    delimiter: str
    options: str
    renamed: str


def read_plan(source: Source, mapping: CsvMapping) -> CsvPlan | None:
    """The CSV's plan; None for an empty file (no rows, no header)."""
    if source.path is None:
        raise InputError(f"{source.name}: a CSV must be a file")
    head = peek(source)
    if not head.strip():
        return None
    delimiter = mapping.delimiter or detect_delimiter(head)
    header = read_header(head, delimiter, source.name)
    columns = resolve_columns(mapping, header, source.name)
    spec = "{" + ", ".join(f"{quote(h)}: 'VARCHAR'" for h in header) + "}"
    options = f"delim = {quote(delimiter)}, {CSV_OPTIONS}, columns = {spec}"
    if is_gzip(source):
        options += ", compression = 'gzip'"
    renamed = ", ".join(f"{_ident(h)} AS c{i}" for i, h in enumerate(header, start=1))
    return CsvPlan(header, columns, delimiter, options, renamed)


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    csv_mapping: CsvMapping | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (records.STAGE_COLUMNS) for every row of the CSV `source`.

    One scan copies the rows into a TEMP table, numbered in file order, and sets aside the
    rows DuckDB cannot split into the header's fields: they become rejects, and fix the
    line numbers of the rows after them. The returned SELECT then works on every row in
    parallel. (Not rowid: inside the ingest's transaction a new table's rowids are not
    positions.)"""
    mapping = csv_mapping or CsvMapping()
    plan = read_plan(source, mapping)
    if plan is None:
        return f"SELECT {stage_select({})} WHERE FALSE"  # an empty file: no rows, no header
    header, columns, delimiter, options, renamed = (
        plan.header, plan.columns, plan.delimiter, plan.options, plan.renamed)

    n = source.file_id
    rows, rejects, scans = (f"costkit_csv_rows_{n}", f"costkit_csv_rejects_{n}",
                            f"costkit_csv_scans_{n}")
    for table in (rejects, scans):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {rows} AS
            SELECT row_number() OVER () AS k_n, {renamed}
            FROM read_csv({quote(str(source.path))}, {options}, store_rejects = true,
                          rejects_table = {quote(rejects)}, rejects_scan = {quote(scans)})
        """)
    except duckdb.Error as exc:
        raise InputError(f"{source.name}: cannot read as CSV: "
                         f"{str(exc).splitlines()[0]}") from None
    finally:
        try:
            con.execute(f"SET preserve_insertion_order = {str(bool(kept)).lower()}")
        except duckdb.TransactionException:
            pass  # the read failed and aborted the transaction: the InputError is the news
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE costkit_csv_bad_{n} AS
        SELECT line, row_number() OVER (ORDER BY line) AS i, any_value(error_type) AS error_type,
               any_value(error_message) AS error_message, any_value(csv_line) AS csv_line
        FROM {rejects} GROUP BY line
    """)
    bad_rows = con.execute(f"SELECT count(*) FROM costkit_csv_bad_{n}").fetchall()[0][0]
    lines = _row_lines(con, source, rows, f"costkit_csv_bad_{n}")
    return rows_sql(n, rows, f"costkit_csv_bad_{n}", bad_rows > 0,
                header, columns, mapping, delimiter, project, tags, lines)


def _row_lines(con: duckdb.DuckDBPyConnection, source: Source, rows: str,
               bad: str) -> str | None:
    """A TEMP table (k_n, k_line): each good row's line in the file, from the file's own
    lines (blank lines and rejected rows skip numbers DuckDB's row count does not see).
    None when the rows do not map one to one onto lines (a quoted cell spans lines)."""
    table = f"{rows}_lines"
    load_lines(con, source, f"{table}_all")
    blank = "regexp_full_match(text, '[ \\t\\r\\n]*')"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT row_number() OVER (ORDER BY line) AS k_n, line AS k_line
        FROM {table}_all
        WHERE NOT {blank} AND line > (SELECT min(line) FROM {table}_all WHERE NOT {blank})
          AND line NOT IN (SELECT line FROM {bad})
    """)
    con.execute(f"DROP TABLE {table}_all")
    mapped, counted = con.execute(
        f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {rows})").fetchone()
    return table if mapped == counted else None


COUNT_FIELDS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                "reasoning_tokens", "search_calls")
TEXT_FIELDS = ("request_id", "ts", "model", "project", "user", "api_key_id", "billed_cost",
               "billed_currency", "endpoint", "provider", "status")


def rows_sql(file_id: int, rows: str, bad: str, has_bad: bool, header: list[str],
         columns: dict[str, str], mapping: CsvMapping, delimiter: str, project: str | None,
         tags: dict[str, str] | None, lines: str | None = None, direct: str | None = None,
         bad_only: bool = False) -> str:
    """The SELECT, in layers so each cell is trimmed, parsed and tested once per row: the
    header's columns renamed c1..cN (no clash with ours), mapped cells (f_*), numbers (n_*)
    and the time, then one flat validity test; reasons are built only for bad rows."""
    position = {name: i for i, name in enumerate(header, start=1)}

    def label(key: str) -> str:
        return f"{key} (column {columns[key]})" if key in columns else key

    # Numbers and times are cast, which ignores surrounding blanks: only text is trimmed
    # (trim is not free over millions of cells).
    cells = [f"{given(f'c{position[columns[k]]}')} AS f_{k}" for k in TEXT_FIELDS
             if k in columns and k != "ts"]
    cells += [f"nullif(c{position[columns[k]]}, '') AS f_{k}" for k in ("ts", *COUNT_FIELDS)
              if k in columns]
    numbers = [f"TRY_CAST(f_{k} AS DOUBLE) AS n_{k}" for k in COUNT_FIELDS if k in columns]
    present = set(columns)

    def f(key: str) -> str:
        return f"f_{key}" if key in present else "NULL::VARCHAR"

    def n(key: str) -> str:
        """A count as BIGINT (0 when optional and absent)."""
        if key not in present:
            return "NULL::BIGINT" if key in ("input_tokens", "output_tokens",
                                             "reasoning_tokens") else "0"
        value = f"TRY_CAST(n_{key} AS BIGINT)"  # NULL past BIGINT (1e400, NaN): rejected
        return value if key in ("input_tokens", "output_tokens", "reasoning_tokens") \
            else f"coalesce({value}, 0)"

    money = f"ltrim({f('billed_cost')}, '$')"
    model = f"coalesce({f('model')}, {text_or_null(mapping.model)})"
    zone = "" if mapping.tz == "UTC" else f" (times without a zone read in {mapping.tz})"
    time_rule = f"; expected unix seconds or ISO 8601{zone}, within 2000..2099"
    reasoning_inside = mapping.reasoning == "in-output" and "reasoning_tokens" in present

    problems: list[tuple[str, str]] = []
    for key in ("input_tokens", "output_tokens"):
        problems.append((f"f_{key} IS NULL", quote(f"missing {label(key)}")))
    for key in COUNT_FIELDS:
        if key in present:
            problems.append((
                f"f_{key} IS NOT NULL AND NOT coalesce(n_{key} >= 0 AND n_{key} = trunc(n_{key}) "
                f"AND n_{key} < 9e15, FALSE)",
                f"{quote(label(key) + ' is ')} || left(f_{key}, 80) || {quote('; ' + COUNT_RULE)}"))
    parts = [label(k) for k in ("cached_input_tokens", "cache_write_tokens") if k in present]
    if parts:
        cached = f"{n('cached_input_tokens')} + {n('cache_write_tokens')}"
        problems.append((f"{cached} > {n('input_tokens')}",
                         f"{quote(' + '.join(parts))} || ' (' || ({cached}) || ') > ' || "
                         f"{quote(label('input_tokens'))} || ' (' || {n('input_tokens')} || ')'"))
    if reasoning_inside:
        problems.append((f"{n('reasoning_tokens')} > {n('output_tokens')}",
                         f"{quote(label('reasoning_tokens') + ' (')} || {n('reasoning_tokens')} "
                         f"|| ') > ' || {quote(label('output_tokens') + ' (')} || "
                         f"{n('output_tokens')} || '), which includes it (--csv-reasoning "
                         "in-output)'"))
    problems += [
        ("f_ts IS NULL", quote(f"missing time: {label('ts')} is empty")),
        (f"NOT coalesce({in_range('k_ts')}, FALSE)",
         f"{quote('unparseable time: ' + label('ts') + ' is ')} || left(f_ts, 80) || "
         f"{quote(time_rule)}"),
        ("k_model IS NULL", quote(f"missing model: {label('model')} is empty and no --model "
                                  "was given" if "model" in present else "missing model")),
    ]
    if "billed_cost" in present:
        problems += [
            (f"{money} IS NOT NULL AND {money_of(money)} IS NULL",
             f"{quote(label('billed_cost') + ' is ')} || left(f_billed_cost, 80) || "
             "'; expected a decimal number'"),
            (f"{money} IS NOT NULL AND {money_bad_places(money)}",
             f"{quote(label('billed_cost') + ' ')} || {money} || "
             "' has more than 12 decimal places'"),
        ]
    any_problem = " OR ".join(f"coalesce({cond}, FALSE)" for cond, _ in problems)
    first_problem = " ".join(f"WHEN coalesce({cond}, FALSE) THEN {why}" for cond, why in problems)

    every = [f"coalesce(c{i}, '')" for i in range(1, len(header) + 1)]
    # A record's identity is its cells and which copy of those cells it is in its file,
    # never where it stands: an overlapping or re-sorted export of the same rows gives the
    # same ids, while two identical rows in one file stay two requests.
    cells_text = f"concat_ws(chr(31), {', '.join(every)})"
    digest = f"sha256({cells_text})"
    hashed = ("'sha256:' || left(CASE WHEN k_copy = 1 THEN k_digest "
              "ELSE sha256(k_digest || '#' || k_copy) END, 32)")
    raw = f"left(concat_ws({quote(delimiter)}, {', '.join(every)}), {RAW_LIMIT})"
    tag_keys = {k[len(TAG_PREFIX):]: v for k, v in columns.items() if k.startswith(TAG_PREFIX)}
    tags_value = tags_sql(tags)
    if tag_keys:
        pairs = ", ".join(f"{quote(name)}, {given(f'c{position[col]}')}"
                          for name, col in tag_keys.items())
        tags_value = (f"nullif(json_merge_patch(coalesce({tags_value}, '{{}}'::JSON), "
                      f"json_object({pairs})), '{{}}'::JSON)")
    output = n("output_tokens") if not reasoning_inside else \
        f"{n('output_tokens')} - coalesce({n('reasoning_tokens')}, 0)"
    values = {
        "file_id": str(int(file_id)),
        "line": "k_line",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": f"coalesce({f('request_id')}, {hashed})",
        "ts": f"CASE WHEN {in_range('k_ts')} THEN k_ts END",
        "provider": f("provider"),
        "endpoint": f("endpoint"),
        "model": "k_model",
        "input_tokens": n("input_tokens"),
        "cached_input_tokens": n("cached_input_tokens"),
        "cache_write_tokens": n("cache_write_tokens"),
        "output_tokens": output,
        "reasoning_tokens": n("reasoning_tokens"),
        "search_calls": n("search_calls"),
        "project": f"coalesce({f('project')}, {text_or_null(project)})",
        "api_key_id": mask_secrets(f("api_key_id"), key=True),
        "user": f("user"),
        "tags": tags_value,
        "status": f("status"),
        "billed_cost": money_of(money),
        "billed_currency": f"CASE WHEN {money} IS NOT NULL THEN {f('billed_currency')} END",
        "reason": f"CASE WHEN k_bad THEN (CASE {first_problem} END) END",
        "raw": f"CASE WHEN k_bad THEN {raw} END",
    }
    if direct is not None:
        numbered = direct
    elif lines is not None:
        numbered = f"SELECT l.k_line, r.* FROM {rows} r JOIN {lines} l USING (k_n)"
    elif has_bad:
        # Each row DuckDB could not split moved the rows after it down by one line.
        numbered = f"""
            SELECT r.*, r.k_n + 1 + coalesce(b.i, 0) AS k_line
            FROM {rows} r
            ASOF LEFT JOIN (SELECT line - 1 - i AS before, i FROM {bad}) b ON r.k_n > b.before
        """
    else:
        numbered = f"SELECT k_n + 1 AS k_line, * FROM {rows}"
    bad_row = {
        "file_id": str(int(file_id)), "line": "line", "kind": "'record'",
        "format": quote(NAME),
        "reason": ("CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN "
                   f"'row has a different number of fields than the header ({len(header)}): ' "
                   "|| error_message "
                   "ELSE lower(error_type::VARCHAR) || ': ' || error_message END"),
        "raw": f"left(rtrim(csv_line, chr(13) || chr(10)), {RAW_LIMIT})",
    }
    judged = f"""
WITH numbered AS ({numbered}),
cells AS (SELECT *, {', '.join(cells)} FROM numbered),
parsed AS (
    SELECT *, {', '.join(numbers) + ', ' if numbers else ''}
        {time_unchecked('f_ts', mapping.tz)} AS k_ts, {model} AS k_model
    FROM cells
),
judged AS (SELECT *, ({any_problem}) AS k_bad FROM parsed)"""
    if direct is not None:
        # The direct path (`csv_direct`): the good rows (or only the bad ones), each taken as
        # the first copy of its cells (`insert_direct` checks that afterwards).
        return f"""{judged}
SELECT {stage_select(values)}
FROM (SELECT *, {digest} AS k_digest, 1 AS k_copy FROM judged
      WHERE {'k_bad' if bad_only else 'NOT k_bad'})
"""
    return f"""{judged},
-- Copies are numbered only among rows whose cells hash alike (64 bits, found by grouping:
-- nearly always none), by their digest, in file order (k_n's order is the lines' order);
-- every other row is the first copy of its cells. A window over every row would hold all
-- of their columns to sort them.
repeated AS (
    SELECT hash({cells_text}) AS k_hash FROM {rows} GROUP BY 1 HAVING count(*) > 1
),
copied AS (
    SELECT k_n, row_number() OVER (PARTITION BY {digest} ORDER BY k_n) AS k_copy
    FROM {rows} WHERE hash({cells_text}) IN (SELECT k_hash FROM repeated)
),
copies AS (
    SELECT j.*, {digest} AS k_digest, coalesce(c.k_copy, 1) AS k_copy
    FROM judged j LEFT JOIN copied c USING (k_n)
)
SELECT {stage_select(values)}
FROM copies
UNION ALL
SELECT {stage_select(bad_row)}
FROM {bad}
"""

