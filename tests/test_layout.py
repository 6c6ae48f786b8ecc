"""The package layout holds: imports flow one way, no module imports itself back, modules stay small.

Imports are read from the source with `ast` (including those under `TYPE_CHECKING`), so a cycle hidden
behind a type-only import fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAX_LINES = 400
#: What each package of `bot` may import from `bot` (besides itself and `bot/__init__.py`, which holds
#: only the version). Top-level modules (`bot.cli`, `bot.console`, `bot.config`) may import anything.
ALLOWED = {
    "bot.facts": set(),
    "bot.search": {"bot.facts"},
    "bot.importing": {"bot.facts"},
    "bot.answers": {"bot.search", "bot.facts"},
    "bot.moderation": {"bot.answers", "bot.search", "bot.facts"},
    "bot.discord": {"bot.moderation", "bot.answers", "bot.search", "bot.facts", "bot.config"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for folder in ("bot", "cogs") for p in sorted((ROOT / folder).rglob("*.py"))}


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports (a `from pkg import name` counts `pkg.name` when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m in modules}


def graph() -> dict[str, set[str]]:
    mods = sources()
    names = set(mods)
    return {name: imports_of(path, names) - {name} for name, path in mods.items()}


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and f"bot.{parts[1]}" in ALLOWED) else module


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules() -> None:
    assert find_cycle(graph()) is None


def test_imports_flow_one_way_between_packages() -> None:
    wrong = []
    for module, targets in graph().items():
        own = package_of(module)
        if own not in ALLOWED:
            continue
        for target in targets:
            other = package_of(target)
            if other not in (own, "bot") and other not in ALLOWED[own] and target not in ALLOWED[own]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_cogs_are_only_imported_by_name_from_the_runtime() -> None:
    importers = [m for m, targets in graph().items() if any(t.startswith("cogs") for t in targets)]
    assert all(m.startswith("cogs") for m in importers), importers


@pytest.mark.parametrize("module", sorted(sources()))
def test_no_module_is_over_400_lines(module: str) -> None:
    lines = sources()[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for package in ALLOWED:
        init = ROOT / Path(*package.split(".")) / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc and len(doc.splitlines()) >= 2, package
