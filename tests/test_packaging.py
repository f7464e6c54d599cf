"""Packaging: environment.yml lists what pyproject.toml does, with the same lower bounds; the README's pictures are there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

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
    """The README's screenshots (made by ``make screenshots``) are all committed, and every committed one is shown."""
    linked = set(re.findall(r"\]\((docs/img/[^)]+\.png)\)", (ROOT / "README.md").read_text()))
    committed = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs" / "img").glob("*.png")}
    assert linked, "the README shows no screenshot"
    assert linked == committed
    assert all((ROOT / path).stat().st_size < 150_000 for path in committed), "screenshots stay small (make screenshots quantises them)"
