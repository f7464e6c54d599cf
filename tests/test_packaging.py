"""Packaging: environment.yml lists what pyproject.toml does, with the same lower bounds."""

from __future__ import annotations

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
