"""Packaging: environment.yml lists what pyproject.toml does, with the same lower bounds; the README's pictures are there;
the wheel carries the migration chain and the notebooks, and an installed copy runs from any directory."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from todo_data import migrations

ROOT = Path(__file__).resolve().parent.parent


def _normalise(spec: str) -> tuple[str, frozenset[str], str]:
    requirement = Requirement(spec)
    return requirement.name.lower().replace("_", "-"), frozenset(requirement.extras), str(requirement.specifier)


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_normalise(spec) for spec in project["dependencies"] + project["optional-dependencies"]["dev"]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    listed = {_normalise(spec) for spec in pip_section if not spec.startswith("-e")}
    assert listed == wanted
    assert "-e ." in pip_section, "environment.yml installs the project itself"
    python = next(item for item in environment["dependencies"] if isinstance(item, str) and item.startswith("python"))
    assert python.removeprefix("python") == project["requires-python"]


def test_every_lower_bound_is_set() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in spec, f"{spec} has no lower bound"


def test_readme_pictures_exist_and_none_is_stale() -> None:
    """The README's screenshots (made by ``make screenshots``) are all committed, and every committed picture is shown, in
    the README or in a page of docs/ (the benchmarks' figure)."""
    linked = set(re.findall(r"\]\((docs/img/[^)]+\.png)\)", (ROOT / "README.md").read_text()))
    assert linked, "the README shows no screenshot"
    for page in (ROOT / "docs").glob("*.md"):
        linked |= {f"docs/{path}" for path in re.findall(r"\]\((img/[^)]+\.png)\)", page.read_text())}
    committed = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs" / "img").glob("*.png")}
    assert linked == committed
    assert all((ROOT / path).stat().st_size < 150_000 for path in committed), "screenshots stay small (make screenshots quantises them)"


# --- the wheel: what `pip install .` (not editable) puts in site-packages ------------------------------------------


def _tree_files() -> list[str]:
    """The project's files as a commit would take them: tracked, or new and not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a user builds it (``pip wheel``, isolated build), from a copy of the tree: no stale build/."""
    source = tmp_path_factory.mktemp("source")
    for name in _tree_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("todo_data-*.whl")
    return found


def test_wheel_carries_the_migration_chain_and_the_notebooks(wheel: Path) -> None:
    """Every file of the package, the revision scripts, env.py, script.py.mako, alembic.ini and the notebooks are in the
    wheel, inside todo_data/ in the checkout's arrangement (so alembic.ini's ``%(here)s/alembic`` holds there too)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    tree = _tree_files()
    shipped = [name for name in tree if name.split("/")[0] in ("alembic", "notebooks") or name in ("alembic.ini", ".squawk.toml")]
    revisions = [name for name in shipped if name.startswith("alembic/versions/") and name.endswith(".py")]
    notebooks = [name for name in shipped if name.startswith("notebooks/") and name.endswith(".ipynb")]
    assert revisions, "the checkout has revision scripts"
    assert len(notebooks) >= 5, "the checkout has the numbered notebooks"
    assert {"alembic/env.py", "alembic/script.py.mako", "alembic.ini"} <= set(shipped)
    expected = {f"todo_data/{name}" for name in shipped}
    expected |= {name for name in tree if name.startswith("todo_data/")}
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel (setup.py says what it carries): {missing}"
    assert not [name for name in names if name.startswith(("alembic/", "notebooks/", "tests/"))], "nothing lands outside todo_data/"


def test_installed_wheel_migrates_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    """`pip install` of the wheel into a fresh venv, then, from an empty directory: `todo-data db upgrade`, `db current`,
    `alembic -c "$(todo-data db ini)" current` and the report list, all from the installed copy, not this checkout."""
    # no PYTHONPATH: a checkout on it would stand in for the installed copy (and pip would find its egg-info)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "TODO_DATA_NOTEBOOKS")}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site_packages,) = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
    ).stdout.split()
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    # after the install (pip would take this interpreter's todo_data for the wheel's): the dependencies come from its
    # site-packages, as a path and not a site dir, so its editable todo_data stays out
    (Path(site_packages) / "todo_data_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    database = empty / "new.db"
    env["DATABASE_URL"] = f"sqlite:///{database}"

    def run(*args: str | Path) -> str:
        result = subprocess.run([*args], cwd=empty, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    head = migrations.head()
    todo_data = venv / "bin" / "todo-data"
    assert "alembic.ini is missing" not in run(todo_data, "db", "upgrade")
    assert database.exists()
    current = run(todo_data, "db", "current")
    assert f"current: {head}" in current and "pending: none" in current
    ini = Path(run(todo_data, "db", "ini").strip())
    assert ini == Path(site_packages) / "todo_data" / "alembic.ini", "the installed copy's ini, not the checkout's"
    assert f"{head} (head)" in run(python, "-m", "alembic", "-c", ini, "current")
    names = run(python, "-c", "from todo_data import reports; print(reports.notebooks_dir()); print(*reports.report_names())").split("\n")
    assert Path(names[0]).is_relative_to(site_packages)
    assert names[1].split() == sorted(Path(name).stem for name in _tree_files() if re.fullmatch(r"notebooks/\d\d-.+\.ipynb", name))
