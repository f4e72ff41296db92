"""Streamed chat completions: `chat.completion.chunk` objects, one per line, or a raw SSE
capture (`data: {...}` lines, `data: [DONE]`; the `data:` prefix is stripped before
parsing, see `costkit.readers.records`).

All chunks of one `id` in one file are one request. Every chunk has `usage: null` except
the extra final chunk (`choices: []`) sent when the request set
`stream_options.include_usage`; its usage is the whole request's. A stream that never sent
it (option off, or interrupted) is rejected with that reason: never counted as $0.
"""

from __future__ import annotations

from costkit.readers import chat_completion as chat
from costkit.readers.base import RecordFormat

FORMAT = RecordFormat(
    name="chat-stream",
    endpoint="chat.completions",
    structure=chat.STRUCTURE,
    match="r.object = 'chat.completion.chunk'",
    counts=chat.COUNTS,
    columns=chat.COLUMNS,
    time=("r.created", "created"),
    checks=chat.CHECKS,
    labels=chat.LABELS,
    stream_key="r.id",
    has_usage="r.usage IS NOT NULL",
)
