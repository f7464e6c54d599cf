"""Where the files the package ships beside its code are: ``alembic.ini``, ``alembic/``, ``notebooks/``, ``.squawk.toml``.

A checkout keeps them at the repository root; a wheel carries them inside the ``todo_data`` package (setup.py
maps them there) in the same arrangement, so ``alembic.ini``'s ``%(here)s/alembic`` holds in both.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED = ("alembic.ini", "alembic", "notebooks", ".squawk.toml")


def shipped_path(name: str) -> Path:
    """The installed copy of a shipped file or folder (``todo_data/NAME`` in site-packages), else the checkout's."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped with todo_data: choose one of {', '.join(SHIPPED)}.")
    installed = PACKAGE_DIR / name
    return installed if installed.exists() else PACKAGE_DIR.parent / name


def alembic_ini() -> Path:
    """The ``alembic.ini`` to hand to ``alembic -c`` (what ``todo-data db ini`` prints), installed or in a checkout."""
    return shipped_path("alembic.ini")
