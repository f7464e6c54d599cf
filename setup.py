"""Which packages the wheel carries; everything else about the project is in pyproject.toml.

Every package under ``todo_data/`` (found, so a new subpackage needs no listing), and what a checkout keeps at its
root mapped inside the package in the same arrangement: ``todo_data/alembic/`` (with ``alembic.ini`` and
``.squawk.toml`` beside it) and ``todo_data/notebooks/``. The one alembic.ini's ``%(here)s/alembic`` then holds
installed and in a checkout, and ``todo_data.resources`` finds them either way.
"""

from setuptools import find_packages, setup

MAPPED = {"todo_data.alembic": "alembic", "todo_data.notebooks": "notebooks"}

setup(
    packages=[*find_packages(include=["todo_data", "todo_data.*"]), "todo_data.templates.report", *MAPPED, "todo_data.alembic.versions"],
    package_dir=MAPPED,
    package_data={
        "todo_data.templates.report": ["*"],
        # "../" from alembic/ is the root: alembic.ini and .squawk.toml land beside todo_data/alembic/
        "todo_data.alembic": ["script.py.mako", "../alembic.ini", "../.squawk.toml"],
        "todo_data.notebooks": ["*.ipynb", "README.md"],
    },
)
