"""OpenAI Batch API output files: one line per request of a batch,
`{"id": "batch_req_...", "custom_id": "...", "response": {"status_code", "request_id",
"body": {<a chat completion, responses object, ...>}}, "error": null}`.

The body is read as the record it is (its own format, id, time and usage); the line is
only its wrapper, as an envelope is. Rows are tagged `batch=true` (the Batch API bills at
its own rates). A line whose request failed (`error` set, no body, or a status code of 400
or more) carries no usage and is billed nothing: it is skipped and counted, not rejected.
"""

from __future__ import annotations

NAME = "batch"

# Fields parsed from the top level of every line (absent ones cost nothing); `id` and
# `response` are parsed for every line already (as VARCHAR and JSON).
STRUCTURE = {"custom_id": "VARCHAR", "error": "JSON"}

# SQL over `j` (the parsed line): a batch output line, with its request's body, and one
# whose request failed.
MATCH = "(j.custom_id IS NOT NULL AND (j.response IS NOT NULL OR j.error IS NOT NULL))"
BODY = "json_extract(j.response, '$.body')"
FAILED = ("(j.response IS NULL OR json_type(j.response) <> 'OBJECT' "
          "OR json_type(j.response, '$.body') IS DISTINCT FROM 'OBJECT' "
          "OR coalesce(TRY_CAST(json_extract_string(j.response, '$.status_code') AS INTEGER) "
          ">= 400, FALSE) "
          "OR (j.error IS NOT NULL AND CAST(j.error AS VARCHAR) <> 'null'))")
TAGS = """'{"batch": "true"}'::JSON"""
