"""Streamed chat completions: `chat.completion.chunk` objects, one per line, or a raw SSE
capture (`data: {...}` lines, `data: [DONE]`; the `data:` prefix is stripped before
parsing, see `costkit.readers.records`).

All chunks of one `id` in one file are one request. Every chunk has `usage: null` except
the extra final chunk (`choices: []`) sent when the request set
`stream_options.include_usage`; its usage is the whole request's. A stream that never sent
it (option off, or interrupted) is rejected with that reason: never counted as $0. Azure
OpenAI's first chunk (empty id and object, only `prompt_filter_results`) is skipped and
counted.
"""

from __future__ import annotations

from costkit.readers import chat_completion as chat
from costkit.readers.base import RecordFormat

# Azure OpenAI's first chunk reports the prompt's content filtering only: no id, no object,
# no model, `created` 0. It belongs to the stream and carries nothing: skipped, counted.
AZURE_FILTER_CHUNK = ("r.prompt_filter_results IS NOT NULL AND coalesce(r.id, '') = '' "
                      "AND coalesce(r.object, '') IN ('', 'chat.completion.chunk') "
                      "AND r.usage IS NULL")

FORMAT = RecordFormat(
    name="chat-stream",
    endpoint="chat.completions",
    structure={**chat.STRUCTURE, "prompt_filter_results": "JSON"},
    match="r.object = 'chat.completion.chunk'",
    counts=chat.COUNTS,
    columns=chat.COLUMNS,
    time=("r.created", "created"),
    checks=chat.CHECKS,
    labels=chat.LABELS,
    stream_key="r.id",
    has_usage="r.usage IS NOT NULL",
    fragment=AZURE_FILTER_CHUNK,
)
