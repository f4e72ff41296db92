"""The envelope: any record format wrapped with who and when.

    {"timestamp": "2026-10-05T09:30:00Z" | 1759656600, "project": "...", "user": "...",
     "api_key_id": "...", "tags": {"team": "growth"}, "provider": "...",
     "request_id": "...", "status": "...", "request": {"model": ..., "user": ...},
     "response": {<a chat completion, chunk, response (or responses event), message>}}

A line is an envelope when it has a `response` object and is not itself a Responses
streaming event (those also carry `response`). Envelope fields win over the record's own
and over `--project` / `--tag` (tags merge key by key). `timestamp` is the request's time
(ISO 8601, naive read as UTC, or unix seconds); it is the only time a message has.
`api_key_id` is stored masked when it looks like a secret.
"""

from __future__ import annotations

from costkit.core.secrets import mask_secrets
from costkit.readers.base import (
    COUNT,
    count_invalid,
    count_text,
    count_value,
    given,
    number,
)

NAME = "envelope"

# Envelope fields parsed from the top level of every line (absent ones cost nothing).
STRUCTURE = {
    "timestamp": "VARCHAR",
    "project": "VARCHAR",
    "user": "VARCHAR",
    "api_key_id": "VARCHAR",
    "tags": "JSON",
    "provider": "VARCHAR",
    "request_id": "VARCHAR",
    "status": "VARCHAR",
    "search_calls": COUNT,
    "request": {"model": "VARCHAR", "user": "VARCHAR", "enable_search": "JSON",
                "web_search_options": "JSON", "tools": "JSON"},
}

# SQL over `j` (the parsed line). `type` is parsed for every line (see messages/responses).
MATCH = "j.response IS NOT NULL AND (j.type IS NULL OR NOT starts_with(j.type, 'response.'))"

# Canonical values an envelope gives (NULL outside envelopes: callers guard with is_env).
TIME = "j.timestamp"
PROJECT = "j.project"
USER = "coalesce(j.user, j.request.user)"
API_KEY_ID = mask_secrets("j.api_key_id", key=True)
TAGS = "j.tags"
PROVIDER = "j.provider"
REQUEST_ID = given("j.request_id")
STATUS = "j.status"
MODEL = "j.request.model"
# Web-search calls the envelope states (a gateway's own count), and whether the request
# enabled search: then a record that reports no count has an unknown one (NULL), never 0.
SEARCH_CALLS = count_value("j.search_calls")
SEARCH_ENABLED = (
    "(CAST(j.request.enable_search AS VARCHAR) = 'true' "
    "OR (j.request.web_search_options IS NOT NULL "
    "AND CAST(j.request.web_search_options AS VARCHAR) <> 'null') "
    "OR regexp_matches(coalesce(CAST(j.request.tools AS VARCHAR), ''), "
    "'\"type\"\\s*:\\s*\"web_search'))"
)

# (SQL true when bad, reason) for envelopes only.
CHECKS = (
    (count_invalid(number("j.search_calls"), "j.search_calls"),
     f"'envelope search_calls is ' || {count_text(number('j.search_calls'), 'j.search_calls')}"
     " || '; counts must be whole numbers >= 0'"),
    ("j.tags IS NOT NULL AND json_type(j.tags) <> 'OBJECT'",
     "'envelope tags must be a JSON object of name: value, not ' || left(j.tags::VARCHAR, 80)"),
)
