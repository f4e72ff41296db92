"""The spend queries' fixed costs cut for speed (issue 17) change no answer: the unpriced
warning's counts folded into the breakdown query, and the rate table installed once per
connection and book."""

from __future__ import annotations

import textwrap
import warnings
from datetime import UTC, datetime

from costkit.pricing.book import load_price_book
from costkit.spend.breakdown import UnpricedUsageWarning, spend

CARDS = """
    [[card]]
    model = "old"
    effective_to = 2026-10-10T00:00:00Z
    [card.rates]
    input = 1
    output = 2

    [[card]]
    model = "nosearch"
    [card.rates]
    input = 1
    output = 2
"""


def add(con, rows):
    con.executemany(
        "INSERT INTO usage (request_id, ts, model, endpoint, input_tokens, cached_input_tokens, "
        "cache_write_tokens, output_tokens, reasoning_tokens, search_calls, request_count, "
        "project, source_format) VALUES (?, ?, ?, 'chat.completions', 10, 0, 0, 10, 0, ?, ?, ?, "
        "'test')", rows)


def book(tmp_path):
    path = tmp_path / "cards.toml"
    path.write_text(textwrap.dedent(CARDS))
    return load_price_book([path])


def test_the_warning_counts_each_models_unpriced_requests(con, tmp_path):
    # Unpriced: 2 rows of "ghost" (no card; one a bucket of 40 requests: 41), "old" after
    # its card ends (1 of its 2), "nosearch" with search calls (1 of its 3). The counts are
    # per logged model over every group, however the groups split them.
    day = datetime(2026, 10, 12, tzinfo=UTC)
    add(con, [["g1", day, "ghost", 0, 1, "a"], ["g2", day, "ghost", 0, 40, "b"],
              ["o1", datetime(2026, 10, 1, tzinfo=UTC), "old", 0, 1, "a"],
              ["o2", day, "old", 0, 1, "b"],
              ["n1", day, "nosearch", 2, 1, "a"], ["n2", day, "nosearch", 0, 1, "a"],
              ["n3", day, "nosearch", 0, 1, "b"]])
    want = ("unpriced usage: ghost (41 requests), nosearch (1 request), old (1 request); "
            "costs are null in the {} holding it (add a price card with --prices)")
    for by, groups in ((["project"], "2 groups"), ([], "1 group"),
                       (["model", "day"], "3 groups")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = spend(con, by, book=book(tmp_path))
        assert [str(w.message) for w in caught
                if issubclass(w.category, UnpricedUsageWarning)] == [want.format(groups)]
        assert "_unpriced_by_model" not in result.columns


def test_the_rates_come_back_after_a_rollback(con, tmp_path):
    # The rate table is installed once per connection; a rolled-back transaction takes it
    # along, and the next query must install it again rather than trust the memo.
    add(con, [["r1", datetime(2026, 10, 12, tzinfo=UTC), "nosearch", 0, 1, "a"]])
    cards = book(tmp_path)
    con.execute("BEGIN")
    first = spend(con, [], book=cards)["total_cost"].item()
    con.execute("ROLLBACK")
    assert spend(con, [], book=cards)["total_cost"].item() == first
    # 10 input and 10 output tokens at $1 and $2 per 1M: $0.00003
    assert str(first) == "0.000030000000"
