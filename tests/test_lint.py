"""House style is checked, not hoped for: ruff and mypy over the code (both from the dev extra)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "intake", "tests", "tools")
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_is_clean() -> None:
    result = run("mypy", "intake")
    assert result.returncode == 0, result.stdout[-3000:]


def _module_imports() -> dict[str, set[str]]:
    """Each intake module and the intake modules it imports at module level (lazy imports aside)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "intake").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("intake"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("intake"))
        graph[name] = found
    return {
        name: {target for target in targets if target in graph and target != name} for name, targets in graph.items()
    }


def test_import_graph_has_no_cycles() -> None:
    graph = _module_imports()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            # A package imports its own modules to re-export them; that is not a cycle.
            if not target.startswith(name + "."):
                visit(target, [*path, name])
        done.add(name)

    for module in sorted(graph):
        visit(module, [])


def test_product_never_imports_the_demo() -> None:
    graph = _module_imports()
    for name, targets in graph.items():
        if not name.startswith("intake.demo"):
            assert not any(t.startswith("intake.demo") for t in targets), name
