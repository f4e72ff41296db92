"""Stream stitching (ingest.run._stitch_streams), worked out by hand on interleaved
messages: each message is one record at its first line with its last usage line's counts,
and a message whose last line is bad is rejected at its first line with that line's text.
The stitch was rewritten from a window over the parts to one grouping (issue 17); these
cases hold what it must keep doing."""

from __future__ import annotations

import json

from readers_support import BOOK, invariant, query, write_lines

from costkit.ingest import run
from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest


def line(message_id: str, output: int, second: int) -> dict:
    return {"type": "assistant", "sessionId": "s-1", "requestId": f"req-{message_id}",
            "timestamp": f"2026-10-05T09:00:{second:02d}.000Z", "cwd": "/home/dev/app",
            "message": {"id": message_id, "model": "claude-sonnet-4-5-20250929",
                        "usage": {"input_tokens": 10, "output_tokens": output}}}


def test_interleaved_messages_stitch_to_their_first_line_and_last_usage(tmp_path):
    lines = [
        line("m1", 5, 1),    # line 1: m1 starts
        line("m2", 7, 2),    # line 2: m2 starts
        line("m1", 9, 3),    # line 3
        line("m2", -1, 4),   # line 4: m2's last usage is impossible
        line("m1", 12, 5),   # line 5: m1's last usage
        line("m3", 4, 6),    # line 6: m3, one line
    ]
    path = write_lines(tmp_path / "session.jsonl", lines)
    db = tmp_path / "store.duckdb"
    s = ingest([path], db=db, prices=BOOK)
    invariant(s)
    # three messages read: m1 and m3 stored, m2 rejected
    assert (s.read, s.inserted, s.rejected) == (3, 2, 1)
    rows = query(db, "SELECT request_id, source_line, output_tokens FROM usage "
                     "ORDER BY request_id")
    # m1 at its first line (1) with its last line's output (12, not 5 or 9); m3 at line 6
    assert rows == [("m1", 1, 12), ("m3", 6, 4)]
    [reject] = list_rejects(db)
    # m2 is rejected for its last usage line (output -1), shown at its first line (2) with
    # that first line's text, as written
    assert reject["line"] == 2
    assert reject["reason"] == ("message.usage.output_tokens is -1; token counts must be "
                                "whole numbers >= 0")
    assert reject["raw"] == json.dumps(lines[1])


def test_session_files_staged_one_batch_each_count_as_one_run(tmp_path, monkeypatch):
    # a batch of at most one byte: every session file is staged and stitched on its own
    monkeypatch.setattr(run, "BATCH_BYTES", 1)
    (tmp_path / "a").mkdir()
    first = write_lines(tmp_path / "a" / "first.jsonl",
                        [line("m1", 5, 1), line("m1", 9, 2), line("m2", 3, 3)])
    # a resumed session repeats m1 as it ended (output 9): a duplicate, not a request
    write_lines(tmp_path / "a" / "second.jsonl", [line("m1", 9, 2), line("m3", 4, 4)])
    db = tmp_path / "store.duckdb"
    s = ingest([tmp_path / "a"], db=db, prices=BOOK)
    invariant(s)
    # read: m1, m2 (first file) + m1, m3 (second) = 4; m1 once: 3 stored, 1 duplicate
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (4, 3, 1, 0)
    rows = query(db, "SELECT request_id, source_file, source_line, output_tokens FROM usage "
                     "ORDER BY request_id")
    # the first file's m1 stays, at its first line with its last output
    assert rows == [("m1", str(first.resolve()), 1, 9),
                    ("m2", str(first.resolve()), 3, 3),
                    ("m3", str((tmp_path / "a" / "second.jsonl").resolve()), 2, 4)]
