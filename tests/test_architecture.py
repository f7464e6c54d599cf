"""The package's shape, read from its source: imports run one way (no cycle between todo_data's modules) and nothing
uses Alembic's private names (issue 16)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import alembic
import pytest

import todo_data

PACKAGE = Path(todo_data.__file__).parent
ROOT = PACKAGE.parent
ALEMBIC_SOURCE = Path(alembic.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _owner(name: str) -> str | None:
    """The todo_data module an imported name lives in (``todo_data.db.build_engine`` -> ``todo_data.db``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _packages_run_first(owner: str, module: str) -> set[str]:
    """The packages whose ``__init__`` Python runs before ``owner`` (``todo_data.trace`` for ``todo_data.trace.locks``),
    other than the root and ``module``'s own packages, which are already running when ``module`` imports."""
    found = set()
    package = owner.rpartition(".")[0]
    while package and package != "todo_data":
        if package in MODULES and not (module == package or module.startswith(f"{package}.")):
            found.add(package)
        package = package.rpartition(".")[0]
    return found


def _imports(module: str, path: Path) -> set[str]:
    """The todo_data modules ``module`` imports, at module level or inside a function; not those under TYPE_CHECKING.

    A backend's class (``backends/<name>/__init__.py``) loads its own submodules inside the method that needs them:
    that is the registry's dispatch to the backend's implementation, not an import of the package's layers.
    """
    backend_home = module.count(".") == 2 and module.startswith("todo_data.backends.") and path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                names = [f"{child.module}.{alias.name}" for alias in child.names]
            for name in names:
                owner = _owner(name) if name.startswith("todo_data") else None
                if owner is None or owner == module or (backend_home and inside and owner.startswith(f"{module}.")):
                    continue
                found.add(owner)
                found.update(_packages_run_first(owner, module))
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_between_todo_data_modules() -> None:
    graph = {module: _imports(module, path) for module, path in MODULES.items()}
    cycles = [
        "; ".join(f"{member} -> {', '.join(sorted(graph[member] & set(component)))}" for member in component)
        for component in _cycles(graph)
    ]
    assert cycles == []


def test_the_cycle_check_counts_imports_inside_functions_and_not_type_checking_ones(tmp_path: Path) -> None:
    path = tmp_path / "late.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from todo_data.trace import TraceReport\n\n"
        "def later() -> None:\n    from todo_data.migrations import upgrade\n"
    )
    assert _imports("todo_data.late", path) == {"todo_data.migrations"}
    # importing a package's module runs the package's __init__ first: that is an import of the package too
    path.write_text("from todo_data.trace.locks import CONFLICTS\n")
    assert _imports("todo_data.backends.postgresql.trace", path) == {"todo_data.trace.locks", "todo_data.trace"}
    assert _imports("todo_data.trace.runner", path) == {"todo_data.trace.locks"}
    graph = {"todo_data.a": {"todo_data.b"}, "todo_data.b": {"todo_data.c"}, "todo_data.c": {"todo_data.a"}, "todo_data.d": {"todo_data.a"}}
    assert _cycles(graph) == [["todo_data.a", "todo_data.b", "todo_data.c"]]


def _alembic_private_names() -> set[str]:
    """Every private name Alembic defines: functions, classes and attributes it sets on ``self``."""
    defined = re.compile(r"\b(?:def|class)\s+(_[a-zA-Z]\w*)|\bself\.(_[a-zA-Z]\w*)\s*[:=]")
    names: set[str] = set()
    for path in ALEMBIC_SOURCE.rglob("*.py"):
        for match in defined.finditer(path.read_text(encoding="utf-8")):
            name = match.group(1) or match.group(2)
            if not name.startswith("__"):
                names.add(name)
    return names


def test_nothing_uses_a_private_name_of_alembic() -> None:
    private = _alembic_private_names()
    assert "_upgrade_revs" in private  # what the trace once called
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "alembic").rglob("*.py")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            used = {name for name in re.findall(r"\.(_[a-zA-Z]\w*)", line) if name in private}
            if re.match(r"\s*(from|import)\s+alembic\b.*(\._|\b_[a-zA-Z])", line):  # a private module or name imported
                used.add(line.strip())
            found += [f"{path.relative_to(ROOT)}:{number}: {name}" for name in sorted(used)]
    assert found == []


@pytest.mark.parametrize(
    "module", ["todo_data.backends.postgresql.trace", "todo_data.backends.sqlite.trace", "todo_data.backends.sqlite.indexes"]
)
def test_a_backends_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """``Backend.tracing()`` imports its trace module before anything imported ``todo_data.trace`` (a round trip does)."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_the_command_line_and_the_report_runner_start_without_pandas() -> None:
    """``todo-data`` (and the process that waits on a report's kernel) loads pandas and matplotlib only where a command
    needs them: their memory counts beside the kernel's in a report's peak (docs/benchmarks.md)."""
    code = "import sys, todo_data.cli, todo_data.reports; print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_a_reports_kernel_checks_its_parameters_without_papermill_or_nbformat() -> None:
    """A notebook's kernel calls check_parameters and run_info; papermill and nbformat (with jsonschema's format
    checkers) would add about 35 MiB to its peak, which counts in a report's (docs/benchmarks.md)."""
    code = (
        "import sys, todo_data as td; td.setup_notebook(); td.check_parameters('04-task-report', top=5, weeks=3); "
        "print(sorted(m for m in ('papermill', 'nbformat', 'nbclient', 'jsonschema') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_every_public_name_loads_on_first_use() -> None:
    code = "import todo_data; print(sum(getattr(todo_data, name) is not None for name in todo_data.__all__), len(todo_data.__all__))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loaded, names = result.stdout.split()
    assert loaded == names
