"""Files costkit writes: whole or not at all, the previous file kept on failure, and a path
that cannot be written is one line naming it (exit 2), never a traceback.

A full disk is provoked for real: the command runs in a child process whose file-size limit
(RLIMIT_FSIZE) is smaller than the page, so the kernel fails the write midway (EFBIG, the
same path through the code as ENOSPC).
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT
from report_data import build_store, make_rows

from costkit.core.errors import OutputError
from costkit.core.output_file import ensure_dir, replacing, write_file

INVOICE = FIXTURES / "audit"


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_write_file_replaces_whole_and_leaves_nothing_beside(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    assert write_file(path, "a,b\n1,2\n") == path
    assert path.read_text() == "a,b\n1,2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert leftovers(tmp_path) == []
    fresh = write_file(tmp_path / "new.bin", b"\x00\x01")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_an_error_inside_the_block_keeps_the_previous_file(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("previous page")
    with pytest.raises(RuntimeError), replacing(path) as handle:
        handle.write("half a pa")
        raise RuntimeError("renderer failed")
    assert path.read_text() == "previous page"
    assert leftovers(tmp_path) == []


def test_a_symlink_keeps_pointing_at_its_replaced_target(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_file(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def under_a_file(folder):
    (folder / "file").write_text("")
    return folder / "file" / "x.csv"


@pytest.mark.parametrize(("make", "message"), [
    (lambda t: t / "missing" / "x.csv", "no such folder"),
    (lambda t: t, "it is a folder; give a file name"),
    (under_a_file, "a part of the path is a file, not a folder"),
])
def test_unwritable_paths_are_output_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(OutputError, match=f"^cannot write {path}: {message}"):
        write_file(path, "x")


def test_ensure_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "reports").write_text("")
    with pytest.raises(OutputError, match="cannot create the folder .*reports: a file of that"):
        ensure_dir(tmp_path / "reports")


# --- the commands -----------------------------------------------------------------------------

def one_line_error(result, path) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("costkit: error: cannot ") and str(path) in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A priced store without rejects: the commands print no warning, only the error."""
    rows = [r for r in make_rows() if r["model"] != "mystery-model"]
    return build_store(tmp_path_factory.mktemp("out") / "store.duckdb", rows, rejects=False)


def test_report_out_into_a_missing_folder(cli, store, tmp_path):
    path = tmp_path / "nonexistent" / "x.csv"
    line = one_line_error(cli("report", "--db", str(store), "--format", "csv", "--out",
                              str(path)), path)
    assert line.endswith(f"no such folder ({path.parent})")


def test_report_out_onto_a_folder(cli, store, tmp_path):
    line = one_line_error(cli("report", "--db", str(store), "--out", str(tmp_path)), tmp_path)
    assert line.endswith("it is a folder; give a file name")


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "parquet"])
def test_report_out_writes_every_format(cli, store, tmp_path, fmt):
    path = tmp_path / f"spend.{fmt}"
    result = cli("report", "--db", str(store), "--format", fmt, "--out", str(path))
    assert result.exit_code == 0, result.stderr
    data = path.read_bytes()
    assert data.startswith(b"PAR1") if fmt == "parquet" else b"2026-10" in data
    assert leftovers(tmp_path) == []


def test_report_monthly_out_that_is_a_file(cli, store, tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    line = one_line_error(cli("report", "monthly", "--month", "2026-10", "--db", str(store),
                              "--out", str(blocker)), blocker)
    assert line.endswith("a file of that name is in the way")
    nested = blocker / "2026"
    line = one_line_error(cli("report", "monthly", "--month", "2026-10", "--db", str(store),
                              "--out", str(nested)), nested)
    assert line.endswith("a part of the path is a file, not a folder")


def run_limited(args: list[str], limit: int, cwd) -> subprocess.CompletedProcess:
    """`costkit ARGS` in a child whose files cannot grow past `limit` bytes."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "costkit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, preexec_fn=cap, timeout=300)


def test_report_monthly_on_a_full_disk_keeps_the_previous_page(store, tmp_path):
    page = tmp_path / "costkit-2026-10.html"
    page.write_text("the previous page")
    done = run_limited(["report", "monthly", "--month", "2026-10", "--db", str(store),
                        "--out", str(tmp_path)], 256 * 1024, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"costkit: error: cannot write {page}: file too large for this file system or limit "
        "(the previous file is unchanged)")
    assert "Traceback" not in done.stderr
    assert page.read_text() == "the previous page"
    assert leftovers(tmp_path) == []


def test_audit_html_on_a_full_disk_keeps_the_previous_page(tmp_path):
    ledger = INVOICE / "ledger-planted.jsonl"
    first = run_limited(["audit", "--ledger", str(ledger), "--html", "--out", str(tmp_path),
                         "--format", "json"], 1 << 30, tmp_path)
    assert first.returncode in (0, 1), first.stderr
    [page] = tmp_path.glob("costkit-audit-*.html")
    before = page.read_text()
    page.write_text(before.replace("</footer>", "<p>marker of the previous page</p></footer>"))
    done = run_limited(["audit", "--ledger", str(ledger), "--html", "--out", str(tmp_path),
                        "--format", "json"], 1024, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"costkit: error: cannot write {page}: ")
    assert "marker of the previous page" in page.read_text()
    assert leftovers(tmp_path) == []


def batch_file(tmp_path, n: int = 3):
    lines = [json.dumps({"custom_id": f"r{i}", "body": {
        "model": "deepseek-v3-2", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]}}) for i in range(n)]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_estimate_out_into_a_missing_folder(cli, tmp_path):
    path = tmp_path / "nope" / "estimates.csv"
    result = cli("estimate", "--batch", str(batch_file(tmp_path)), "--no-history", "--format",
                 "csv", "--out", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"costkit: error: cannot write {path}: no such folder ({path.parent})")
    assert not path.parent.exists()


def test_estimate_out_over_budget_still_writes_the_estimate(cli, tmp_path):
    path = tmp_path / "estimates.json"
    result = cli("estimate", "--batch", str(batch_file(tmp_path)), "--no-history", "--format",
                 "json", "--out", str(path), "--budget", "0")
    assert result.exit_code == 3, result.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split('"custom_id": ')[1][:4] for line in lines[:3]] == ['"r0"', '"r1"',
                                                                          '"r2"']
    assert lines[3].startswith('{"totals": {"requests": 3,')
    assert leftovers(tmp_path) == []


def test_estimate_single_out_is_what_stdout_shows(cli, tmp_path):
    path = tmp_path / "one.txt"
    args = ("estimate", "Write a haiku about the ocean.", "--no-history")
    assert cli(*args, "--out", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8") == cli(*args).stdout
