"""The package's shape (issue 14): layers, no import cycles, store apart from pricing, small
modules. The test reads costkit's source with `ast` (every import statement: module level,
inside functions, under TYPE_CHECKING) and builds the module import graph.

Layers, top to bottom; a module may import its own layer and the layers below, never above:
  3  cli/, api.py, __main__.py, costkit/__init__.py (the public API)
  2  estimator, ingest, spend, report, forecast, audit, demo (the capabilities)
  1  store, pricing, tokens, readers
  0  core
and store does not import pricing (prices reach the store as data or SQL, never as a module).

The KNOWN_* sets below are today's violations, listed so that every NEW one fails while the
colleagues fixing them work. The lists only shrink: when you fix one, delete its entry (a
test fails on an entry that is no longer true, so the lists stay exact).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = "costkit"
LAYERS = {
    "core": 0,
    "store": 1, "pricing": 1, "tokens": 1, "readers": 1,
    "estimator": 2, "ingest": 2, "spend": 2, "report": 2, "forecast": 2, "audit": 2, "demo": 2,
    "budgets": 2,
    "cli": 3, "api": 3, "__main__": 3, "": 3,  # "": the package itself, the public API
}
LAYER_NAMES = ("core", "store/pricing/tokens/readers", "the capabilities",
               "cli and the public API")
FORBIDDEN = {("store", "pricing"): "store must not import pricing"}
MAX_LINES = 500

# Imports that lie on an import cycle today (an edge is on a cycle when the imported module
# imports the importer back, directly or not).
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_FORBIDDEN: set[tuple[str, str]] = set()
KNOWN_LONG: set[str] = set()


# --- reading the package ---------------------------------------------------------------------

def find_modules(folder: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every .py file under `folder` (a package's __init__.py is the
    package's own module)."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(modules: dict[str, Path], package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its source)."""

    def known(name: str) -> str:
        # `import a.b.c` names a module; `from a.b import name` a module or a name in a.b.
        while name not in modules and "." in name:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names
                            if a.name.split(".")[0] == package}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                if base.split(".")[0] != package:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else known(base))
        graph[module] = targets - {module}
    return graph


def top(module: str) -> str:
    """The package part that decides a module's layer: costkit.spend.costed -> 'spend'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def path_between(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A shortest import chain start -> ... -> goal, or None."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            chain = [node]
            while previous[chain[-1]] is not None:
                chain.append(previous[chain[-1]])
            return chain[::-1]
        for nxt in sorted(graph.get(node, ())):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in graph.items() for b in targets}


def cycle_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """Each import that lies on a cycle, with one such cycle."""
    out = {}
    for a, b in edges(graph):
        back = path_between(graph, b, a)
        if back is not None:
            out[(a, b)] = [a, *back]
    return out


def upward_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges(graph) if LAYERS[top(b)] > LAYERS[top(a)]}


def forbidden_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges(graph) if (top(a), top(b)) in FORBIDDEN}


def long_modules(modules: dict[str, Path]) -> dict[str, int]:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules.items()}
    return {m: n for m, n in sizes.items() if n > MAX_LINES}


# --- costkit itself ----------------------------------------------------------------------------

MODULES = find_modules(ROOT / PACKAGE, PACKAGE)
GRAPH = import_graph(MODULES, PACKAGE)


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in MODULES if top(m) not in LAYERS)
    assert not unplaced, f"give these a layer in tests/test_layers.py LAYERS: {unplaced}"


def test_no_new_import_cycle():
    new = {e: c for e, c in cycle_edges(GRAPH).items() if e not in KNOWN_CYCLE_EDGES}
    assert not new, "import cycles:\n" + "\n".join(
        f"  {a} imports {b}: {' -> '.join(cycle)}" for (a, b), cycle in sorted(new.items()))


def test_nothing_imports_a_higher_layer():
    new = sorted(upward_edges(GRAPH) - KNOWN_UPWARD)
    assert not new, "upward imports:\n" + "\n".join(
        f"  {a} ({LAYER_NAMES[LAYERS[top(a)]]}) imports {b} ({LAYER_NAMES[LAYERS[top(b)]]})"
        for a, b in new)


def test_store_does_not_import_pricing():
    new = sorted(forbidden_edges(GRAPH) - KNOWN_FORBIDDEN)
    assert not new, "\n".join(f"{FORBIDDEN[top(a), top(b)]}: {a} imports {b}" for a, b in new)


def test_no_module_is_over_500_lines():
    new = {m: n for m, n in long_modules(MODULES).items() if m not in KNOWN_LONG}
    assert not new, f"modules over {MAX_LINES} lines (split them by job): {new}"


@pytest.mark.parametrize("name, known, actual", [
    ("KNOWN_CYCLE_EDGES", KNOWN_CYCLE_EDGES, set(cycle_edges(GRAPH))),
    ("KNOWN_UPWARD", KNOWN_UPWARD, upward_edges(GRAPH)),
    ("KNOWN_FORBIDDEN", KNOWN_FORBIDDEN, forbidden_edges(GRAPH)),
    ("KNOWN_LONG", KNOWN_LONG, set(long_modules(MODULES))),
])
def test_the_allow_lists_hold_only_what_is_still_true(name, known, actual):
    fixed = sorted(known - actual)
    assert not fixed, f"fixed, so delete from {name} in tests/test_layers.py: {fixed}"


# --- the checks themselves, on a small package made here --------------------------------------

def write(folder: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = folder / "costkit" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return find_modules(folder / "costkit", "costkit")


def test_the_walk_sees_every_kind_of_import(tmp_path):
    modules = write(tmp_path, {
        "__init__.py": "def f():\n    from costkit.api import Store\n",
        "api.py": "from .spend import breakdown\n",
        "core/__init__.py": "",
        "core/errors.py": "import json\n",
        "spend/__init__.py": "",
        "spend/breakdown.py": (
            "from typing import TYPE_CHECKING\n"
            "from . import costed\n"
            "from ..core.errors import X\n"
            "if TYPE_CHECKING:\n    import costkit.store.connection\n"),
        "spend/costed.py": "def g():\n    from costkit.core import errors\n",
        "store/__init__.py": "",
        "store/connection.py": "from costkit.store import *\n",
    })
    assert import_graph(modules, "costkit") == {
        "costkit": {"costkit.api"},
        "costkit.api": {"costkit.spend.breakdown"},
        "costkit.core": set(),
        "costkit.core.errors": set(),
        "costkit.spend": set(),
        "costkit.spend.breakdown": {"costkit.spend.costed", "costkit.core.errors",
                                    "costkit.store.connection"},
        "costkit.spend.costed": {"costkit.core.errors"},
        "costkit.store": set(),
        "costkit.store.connection": {"costkit.store"},
    }


def test_the_checks_catch_a_cycle_an_upward_import_store_on_pricing_and_length(tmp_path):
    modules = write(tmp_path, {
        "core/__init__.py": "",
        "core/clock.py": "def now():\n    from costkit.spend import costed\n",  # upward
        "spend/__init__.py": "",
        "spend/costed.py": "from costkit.core import clock\n",  # ... and a cycle
        "store/__init__.py": "",
        "store/connection.py": "from costkit.pricing.book import PriceBook\n",
        "pricing/__init__.py": "",
        "pricing/book.py": "x = 1\n" * (MAX_LINES + 1),
    })
    graph = import_graph(modules, "costkit")
    assert cycle_edges(graph) == {
        ("costkit.core.clock", "costkit.spend.costed"):
            ["costkit.core.clock", "costkit.spend.costed", "costkit.core.clock"],
        ("costkit.spend.costed", "costkit.core.clock"):
            ["costkit.spend.costed", "costkit.core.clock", "costkit.spend.costed"],
    }
    assert upward_edges(graph) == {("costkit.core.clock", "costkit.spend.costed")}
    assert forbidden_edges(graph) == {("costkit.store.connection", "costkit.pricing.book")}
    assert long_modules(modules) == {"costkit.pricing.book": MAX_LINES + 1}
