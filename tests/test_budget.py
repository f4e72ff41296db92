"""`costkit budget check` end to end on a planted store: exits 0 / 3 / 4, JSON lines, a past
month, unpriced usage said, and the figures worked out by hand.

The store (`plant`): envelope lines of the model `flat-1` (a test card: $1.00 per 1M input
tokens, so one request of 1,000,000 input tokens costs exactly $1.00), one request a day at
10:00 UTC from 2026-10-01 through 2026-11-16:
- project steady,     key k-steady, $1/day (one request);
- project search-bot, key k-search, tag team=growth, $2/day (two requests);
- project burst,      key k-burst,  tag team=growth, $3/day (three requests);
- and one request of `mystery-model` (no card) in project steady on 2026-11-12.
The check runs at 2026-11-16T12:00Z (set here, not the suite's pinned instant): in UTC the
month to date is Nov 1-16 (16 days, today's request included) and the forecast's history
ends Nov 15. A flat daily series is forecast flat (the model's level), so the projection of
a project spending $d a day is 15 x d (Nov 1-15) + 15 x d (Nov 16-30) = 30 x d.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

NOW = "2026-11-16T12:00:00Z"
CARD = """[[card]]
model = "flat-1"
[card.rates]
input = {input}
output = 2.00
"""
PROJECTS = {"steady": ("k-steady", None, 1), "search-bot": ("k-search", "growth", 2),
            "burst": ("k-burst", "growth", 3)}
BUDGETS = """
[[budget]]
name = "steady"
scope = "project"
match = "steady"
monthly = "40"

[[budget]]
name = "search-bot"
scope = "project"
match = "search-bot"
monthly = "50.00"

[[budget]]
name = "burst"
scope = "project"
match = "burst"
monthly = 40

[[budget]]
name = "all"
scope = "account"
monthly = "$200"

[[budget]]
name = "steady key"
scope = "key"
match = "k-steady"
monthly = "35"

[[budget]]
name = "growth team"
scope = "tag:team"
match = "growth"
monthly = "100"
currency = "USD"
"""


def _line(rid: str, when: datetime, project: str, key: str, team: str | None,
          model: str = "flat-1") -> str:
    envelope = {"timestamp": when.isoformat().replace("+00:00", "Z"), "project": project,
                "api_key_id": key, "request_id": rid,
                "response": {"id": rid, "object": "chat.completion",
                             "created": int(when.timestamp()), "model": model,
                             "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0,
                                       "total_tokens": 1_000_000},
                             "choices": [{"index": 0, "message": {"role": "assistant",
                                                                  "content": "ok"},
                                          "finish_reason": "stop"}]}}
    if team:
        envelope["tags"] = {"team": team}
    return json.dumps(envelope)


def write_logs(path: Path, last: date = date(2026, 11, 16)) -> Path:
    lines = []
    day = date(2026, 10, 1)
    while day <= last:
        at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        for project, (key, team, per_day) in PROJECTS.items():
            for i in range(per_day):
                lines.append(_line(f"{project}-{day:%m%d}-{i}", at + timedelta(minutes=i),
                                   project, key, team))
        day += timedelta(days=1)
    lines.append(_line("mystery-1112", datetime(2026, 11, 12, 11, tzinfo=UTC), "steady",
                       "k-steady", None, model="mystery-model"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_card(path: Path, input_rate: str = "1.00") -> Path:
    path.write_text(CARD.format(input=input_rate), encoding="utf-8")
    return path


def plant(cli, folder: Path, budgets: str = BUDGETS, last: date = date(2026, 11, 16)) -> Path:
    """A store of the planted usage at folder/usage.duckdb, the card at folder/cards.toml
    and folder/costkit.toml naming both (relative paths) and `budgets`."""
    folder.mkdir(parents=True, exist_ok=True)
    logs = write_logs(folder / "usage.jsonl", last)
    write_card(folder / "cards.toml")
    result = cli("ingest", str(logs), "--db", str(folder / "usage.duckdb"))
    assert result.exit_code == 0, result.stderr
    (folder / "costkit.toml").write_text(
        'db = "usage.duckdb"\nprices = "cards.toml"\ntz = "UTC"\n' + budgets, encoding="utf-8")
    return folder / "costkit.toml"


@pytest.fixture
def planted(cli, tmp_path, monkeypatch):
    """The planted folder as the working directory, $COSTKIT_DB unset, the clock at NOW."""
    config = plant(cli, tmp_path / "site")
    monkeypatch.chdir(config.parent)
    monkeypatch.delenv("COSTKIT_DB", raising=False)
    monkeypatch.setenv("COSTKIT_NOW", NOW)
    return config


def lines(stdout: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in stdout.splitlines()]
    return {row["name"]: row for row in rows}


def test_json_lines_hand_worked(cli, planted):
    result = cli("budget", "check", "--format", "json")
    assert result.exit_code == 3, result.stderr      # burst is over, two projected over
    assert len(result.stdout.splitlines()) == 6       # one line per budget
    rows = lines(result.stdout)
    # steady: Nov 1-16 at $1 = $16 spent; projected 30 x $1 = $30; under $40.
    # search-bot: 16 x $2 = $32 spent, under $50; projected 30 x $2 = $60 > $50.
    # burst: 16 x $3 = $48 spent > $40.
    # all: 16 x $6 = $96; projected 30 x $6 = $180 <= $200.
    # steady key: the same requests as steady: $16, projected $30, under $35.
    # growth team (search-bot + burst): $32 + $48 = $80; projected $60 + $90 = $150 > $100.
    expected = {"steady": ("16", "30", "ok"), "search-bot": ("32", "60", "projected-over"),
                "burst": ("48", "90", "over"), "all": ("96", "180", "ok"),
                "steady key": ("16", "30", "ok"), "growth team": ("80", "150", "projected-over")}
    for name, (spent, projected, status) in expected.items():
        row = rows[name]
        assert Decimal(row["spent"]) == Decimal(spent), name
        assert Decimal(row["projected"]) == Decimal(projected), name
        assert row["status"] == status, name
    steady = rows["steady"]
    assert steady["scope"] == "project" and steady["match"] == "steady"
    assert steady["budget"] == "40" and steady["currency"] == "USD"
    assert rows["all"]["match"] is None and rows["growth team"]["scope"] == "tag:team"
    assert steady["as_of"] == "2026-11-16T12:00:00+00:00"
    assert steady["data_through"] == "2026-11-16T10:02:00+00:00"   # burst's third request
    assert steady["month"] == "2026-11" and steady["stale"] is False
    # The mystery-model request is counted and said, never $0: in steady, its key and the
    # account; not in the growth team's.
    assert [rows[n]["unpriced_requests"] for n in expected] == [1, 0, 0, 1, 1, 0]
    assert "1 request(s) of mystery-model are not in its spend" in result.stderr
    assert "over or projected over: search-bot projected-over" in result.stderr
    assert "; burst over ($48.00 spent, $90.00 projected of $40.00)" in result.stderr
    assert "search-bot projected-over ($32.00 spent, $60.00 projected of $50.00)" \
        in result.stderr


def test_exit_0_when_every_budget_is_ok(cli, planted):
    ok_only = BUDGETS.split("[[budget]]")
    config = planted.parent / "ok.toml"
    config.write_text('db = "usage.duckdb"\nprices = "cards.toml"\n' + "[[budget]]".join(
        [ok_only[0], ok_only[1], ok_only[4]]), encoding="utf-8")
    result = cli("budget", "check", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert "steady" in result.stdout and "all" in result.stdout
    assert "burst" not in result.stdout
    # the table: $40.00 budget, $16.00 spent (40%), $30.00 projected
    row = next(line for line in result.stdout.splitlines() if "project steady" in line)
    assert "$40.00" in row and "$16.00" in row and "40%" in row and "$30.00" in row


def test_exit_4_when_the_data_is_stale(cli, planted, monkeypatch):
    # Three days on, nothing newer was ingested: the newest usage (Nov 16 10:02) is 3 days
    # 1 hour old at Nov 19 11:02 (over 2d). Stale wins over 3: "under" cannot be trusted
    # (the forecast reads Nov 17-18 as days without spend, so search-bot's projection drops
    # under its budget), and burst, whose spend is over, is said to be over even so.
    monkeypatch.setenv("COSTKIT_NOW", "2026-11-19T11:02:00Z")
    result = cli("budget", "check", "--format", "json")
    assert result.exit_code == 4, result.stderr
    assert "data stale (newest usage 3 days 1 hour old, over --stale-after 2d)" in result.stderr
    assert result.stderr.endswith("over or projected over even so: burst\n")
    assert all(row["stale"] for row in lines(result.stdout).values())
    # --stale-after 4d accepts it: the figures are those of Nov 1-16 (nothing after).
    result = cli("budget", "check", "--format", "json", "--stale-after", "4d")
    assert result.exit_code == 3
    assert Decimal(lines(result.stdout)["steady"]["spent"]) == Decimal(16)


def test_exit_4_with_only_ok_budgets(cli, planted):
    # At 12:00 the newest usage is 1 h 58 min old: over --stale-after 1h.
    config = planted.parent / "ok.toml"
    config.write_text('db = "usage.duckdb"\nprices = "cards.toml"\n' + BUDGETS.split(
        "[[budget]]")[0] + "[[budget]]" + BUDGETS.split("[[budget]]")[1], encoding="utf-8")
    result = cli("budget", "check", "--config", str(config), "--stale-after", "1h")
    assert result.exit_code == 4
    assert "'ok' cannot be trusted" in result.stderr


def test_a_past_month_is_checked_whole(cli, planted):
    result = cli("budget", "check", "--month", "2026-10", "--format", "json")
    rows = lines(result.stdout)
    # October, 31 days: steady 31 x $1 = $31 (ok under $40); search-bot 31 x $2 = $62 (over
    # $50); burst 31 x $3 = $93 (over $40); all 31 x $6 = $186 (ok under $200).
    assert {n: (Decimal(r["spent"]), r["status"]) for n, r in rows.items()} == {
        "steady": (31, "ok"), "search-bot": (62, "over"), "burst": (93, "over"),
        "all": (186, "ok"), "steady key": (31, "ok"), "growth team": (155, "over")}
    assert all(r["projected"] == r["spent"] for r in rows.values())   # nothing left to come
    assert rows["all"]["as_of"] == "2026-11-01T00:00:00+00:00"
    assert rows["all"]["data_through"] == "2026-10-31T10:02:00+00:00"
    assert all(r["unpriced_requests"] == 0 for r in rows.values())
    assert result.exit_code == 3


def test_tz_from_the_config_moves_the_month(cli, planted):
    # In Pacific/Kiritimati (UTC+14) 2026-11-16T12:00Z is already Nov 17 02:00, and each
    # 10:00Z request falls on the next local day (00:00+14); the month to date is local Nov
    # 1-17: the requests of Oct 31 .. Nov 16 UTC, 17 days x $1 = $17 for steady.
    text = planted.read_text(encoding="utf-8").replace('tz = "UTC"', 'tz = "Pacific/Kiritimati"')
    planted.write_text(text, encoding="utf-8")
    rows = lines(cli("budget", "check", "--format", "json").stdout)
    assert Decimal(rows["steady"]["spent"]) == 17
    assert rows["steady"]["as_of"] == "2026-11-17T02:00:00+14:00"
    # --tz wins over the file: back to Nov 1-16, $16.
    rows = lines(cli("budget", "check", "--format", "json", "--tz", "UTC").stdout)
    assert Decimal(rows["steady"]["spent"]) == 16


def test_no_budgets_is_an_error(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("budget", "check")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no costkit.toml" in result.stderr
    (tmp_path / "costkit.toml").write_text('tz = "UTC"\n', encoding="utf-8")
    result = cli("budget", "check")
    assert result.exit_code == 2 and "no budgets; add a [[budget]] table" in result.stderr


def test_a_month_not_begun_is_refused(cli, planted):
    result = cli("budget", "check", "--month", "2026-12")
    assert result.exit_code == 2
    assert "--month 2026-12 has not begun" in result.stderr


def test_no_projection_and_another_currency_are_said(cli, planted):
    config = planted.parent / "odd.toml"
    config.write_text('db = "usage.duckdb"\nprices = "cards.toml"\n'
                      '[[budget]]\nname = "unused key"\nscope = "key"\nmatch = "k-none"\n'
                      'monthly = 10\n\n'
                      '[[budget]]\nname = "in euros"\nscope = "project"\nmatch = "steady"\n'
                      'monthly = 10\ncurrency = "EUR"\n', encoding="utf-8")
    result = cli("budget", "check", "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = lines(result.stdout)
    # No usage under the key: $0 spent (nothing happened), no projection, and why.
    unused = rows["unused key"]
    assert (Decimal(unused["spent"]), unused["projected"], unused["status"]) == (0, None, "ok")
    assert unused["note"].startswith("no projection: too little history to forecast: 0 day(s)")
    assert "budget 'unused key': no projection: too little history" in result.stderr
    # steady's spend is priced in USD: none of it counts toward a EUR budget, and its 17
    # requests of Nov 1-16 (16 of flat-1, 1 of mystery-model) are said, not read as 0 EUR.
    euros = rows["in euros"]
    assert Decimal(euros["spent"]) == 0 and euros["unpriced_requests"] == 17
    assert ("budget 'in euros': 17 request(s) of flat-1, mystery-model are not in its spend "
            "(unpriced, or priced in another currency than EUR)") in result.stderr
