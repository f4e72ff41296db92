"""docs/architecture.md stays true: the README points to it, its layer diagram names every
package the layer test knows, and every file it names outside a "(moving)" line exists."""

from __future__ import annotations

import re

from conftest import ROOT
from test_layers import LAYERS

DOC = ROOT / "docs" / "architecture.md"
# A backticked path: a folder (`cli/`), a module (`report/html.py`, `api.py`); templates
# such as `readers/<format>.py` are not one file.
PATH = re.compile(r"`([\w./-]+(?:/|\.py))`")


def test_readme_points_to_the_architecture_doc():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/architecture.md)" in readme
    assert DOC.is_file()


def test_the_diagram_names_every_layered_package():
    text = DOC.read_text(encoding="utf-8")
    diagram = text[text.index("## Layers"):text.index("## Packages")]
    missing = [name for name in LAYERS if name not in ("", "__main__")
               and not re.search(rf"\b{re.escape(name)}\b", diagram)]
    assert not missing, f"docs/architecture.md's layer diagram lacks {missing}"


def test_every_file_it_names_exists_unless_moving():
    text = DOC.read_text(encoding="utf-8")
    absent = []
    for number, line in enumerate(text.splitlines(), 1):
        if "(moving" in line:
            continue
        for name in PATH.findall(line):
            if not any((base / name).exists() for base in (ROOT / "costkit", ROOT)):
                absent.append(f"line {number}: {name}")
    assert not absent, f"docs/architecture.md names files that do not exist: {absent}"


def test_the_path_check_can_fail():
    assert PATH.findall("| x | `spend/costed.py` and `cli/` but not `readers/<format>.py` |") \
        == ["spend/costed.py", "cli/"]
    assert not (ROOT / "costkit" / "spend" / "nothing.py").exists()
