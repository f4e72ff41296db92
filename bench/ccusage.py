"""Ingest + monthly report against ccusage on the same Claude Code session logs.

Generates N assistant messages of Claude Code session logs (the shape Claude Code writes
under `~/.claude/projects/<folder>/<session>.jsonl`: timestamp, sessionId, requestId, cwd,
message.id / model / usage with cache reads and writes; a few user lines between; three
Claude models over five months; 1,000 messages a session file), deterministically, then
times each whole process, in the same run, alternating, best of --repeat:

  baseline  ccusage (the npm package's native binary, found as $CCUSAGE or `ccusage` on
            PATH; its version is printed): `ccusage claude monthly --json --offline
            --timezone UTC` with CLAUDE_CONFIG_DIR set to the logs, i.e. read every session
            file, dedupe, price and total per month, in one process
  costkit   `costkit ingest DIR` into a fresh store, then `costkit report --by month
            --format json` on it: two processes, start-up included in both

and checks both saw the same number of messages. Target (issue 17): faster than ccusage at
100k, at least 5x faster at 1M. Without ccusage the bench says so and times costkit alone.

    npm install --prefix /tmp/ccusage ccusage@20.0.24   # not part of costkit; 20.0.26
                                                        # had no linux-x64 native binary
    CCUSAGE=/tmp/ccusage/node_modules/.bin/ccusage python bench/ccusage.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import figure

MODELS = ("claude-sonnet-4-20250514", "claude-opus-4-20250514", "claude-3-5-haiku-20241022")
PER_SESSION = 1000


def generate(root: Path, n: int) -> None:
    """N assistant messages in session files of PER_SESSION, written by DuckDB."""
    import duckdb

    folder = root / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    con = duckdb.connect()
    for session, start in enumerate(range(0, n, PER_SESSION)):
        count = min(PER_SESSION, n - start)
        con.execute(f"""
            COPY (
                SELECT CASE WHEN i % 10 = 0 THEN
                    json_object('type', 'user', 'sessionId', 'session-{session}',
                                'timestamp', strftime(t, '%Y-%m-%dT%H:%M:%S.000Z'),
                                'cwd', '/home/dev/app',
                                'message', json_object('role', 'user', 'content', 'go on'))
                  ELSE json_object(
                    'type', 'assistant', 'sessionId', 'session-{session}',
                    'timestamp', strftime(t, '%Y-%m-%dT%H:%M:%S.000Z'),
                    'requestId', 'req_' || i, 'cwd', '/home/dev/app', 'version', '1.0.0',
                    'message', json_object(
                        'id', 'msg_' || i, 'role', 'assistant', 'type', 'message',
                        'model', ['{MODELS[0]}', '{MODELS[1]}', '{MODELS[2]}'][1 + i % 3],
                        'content', [json_object('type', 'text', 'text', 'done')],
                        'usage', json_object(
                            'input_tokens', 3 + i % 50,
                            'cache_creation_input_tokens', (i * 37) % 5000,
                            'cache_read_input_tokens', (i * 7919) % 60000,
                            'output_tokens', 1 + (i * 104729) % 2000)))
                  END AS line
                FROM (SELECT i, TIMESTAMP '2026-08-01' + to_seconds((i * 7919) % 13219200) AS t
                      FROM range({start}, {start + count}) r(i))
            ) TO '{folder / f"session-{session}.jsonl"}' (FORMAT csv, HEADER false, QUOTE '',
                                                          ESCAPE '')
        """)
    con.close()


def ccusage_binary() -> str | None:
    return os.environ.get("CCUSAGE") or shutil.which("ccusage")


def run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="messages (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="costkit-bench-cc-", dir=args.dir))
    try:
        logs = scratch / "claude"
        generate(logs, args.n)
        lines = sum(1 for p in logs.rglob("*.jsonl") for _ in p.open("rb"))
        messages = sum(1 for i in range(args.n) if i % 10)
        print(f"{lines:,} Claude Code log lines ({messages:,} assistant messages) in "
              f"{len(list(logs.rglob('*.jsonl')))} session files")
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(logs), "HOME": str(scratch),
               "COSTKIT_PRICES": "", "NO_COLOR": "1"}
        binary = ccusage_binary()
        costkit = [sys.executable, "-m", "costkit"]
        ours, theirs = [], []
        for round_ in range(args.repeat):
            db = scratch / f"store-{round_}.duckdb"
            t_ingest, out = run([*costkit, "ingest", str(logs), "--db", str(db),
                                 "--format", "json"], env)
            assert json.loads(out)["inserted"] == messages, out
            t_report, _ = run([*costkit, "report", "--by", "month", "--db", str(db),
                               "--format", "json"], env)
            ours.append(t_ingest + t_report)
            db.unlink()
            if binary:
                t_cc, out = run([binary, "claude", "monthly", "--json", "--offline",
                                 "--timezone", "UTC"], env)
                theirs.append(t_cc)
        if not binary:
            print(f"ccusage not found ($CCUSAGE or PATH): costkit ingest + report "
                  f"{min(ours):.2f} s alone, no ratio")
            return
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 check=False).stdout.strip()
        print(figure(f"ingest + monthly report, {messages:,} Claude Code messages", min(ours),
                     min(theirs), f"{version} `claude monthly --json --offline`", "s",
                     "x baseline time; target: < 1 at 100k, <= 0.2 at 1M"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
