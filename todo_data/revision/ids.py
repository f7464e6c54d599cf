"""Revision ids: the chain's sequential ``001``, ``002``, ... and one line when two revisions follow the same one."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from alembic.operations import ops
from alembic.script import ScriptDirectory

from todo_data.errors import MigrationError

WIDTH = 3
_REVISION_LINE = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def file_revisions(script: ScriptDirectory) -> dict[str, list[str]]:
    """Each revision id the versions folder declares, with the files declaring it (two files for one id: two branches)."""
    found: dict[str, list[str]] = {}
    for path in sorted(Path(script.versions).glob("*.py")):
        match = _REVISION_LINE.search(path.read_text(encoding="utf-8"))
        if match:
            found.setdefault(match.group(1), []).append(path.name)
    return found


def require_one_head(script: ScriptDirectory) -> None:
    """Refuse, in one line, a chain that forked: two files with one id, or two heads."""
    declared = file_revisions(script)
    twice = sorted(rev for rev, files in declared.items() if len(files) > 1)
    if twice:
        rev = twice[0]
        files = " and ".join(declared[rev])
        raise MigrationError(
            f"Two revisions are numbered {rev} ({files}), from two branches: renumber the newer one to {next_revision_id(script)} "
            f'(its file name, revision = "{next_revision_id(script)}" and down_revision = "{rev}"); or give it another id and '
            f'join the two heads with `alembic merge -m "merge" heads`.'
        )
    heads = sorted(script.get_heads())
    if len(heads) > 1:
        raise MigrationError(
            f"The chain has {len(heads)} heads ({', '.join(heads)}), from two branches: set down_revision of {heads[-1]} to "
            f'{heads[0]} (renumbering it if needed), or join them with `alembic merge -m "merge" heads`.'
        )


def next_revision_id(script: ScriptDirectory) -> str:
    """The next id after the highest numeric one: ``005`` after ``004``."""
    numbers = [int(rev) for rev in file_revisions(script) if rev.isdigit()]
    widths = Counter(len(rev) for rev in file_revisions(script) if rev.isdigit())
    width = max([WIDTH, *widths])
    return str(max(numbers, default=0) + 1).zfill(width)


def revision_file(script: ScriptDirectory, directive: ops.MigrationScript) -> Path:
    """The file Alembic is about to write ``directive`` to, as a pattern (``alembic/versions/005_*.py``: the chain's
    file_template is ``%(rev)s_%(slug)s``, and Alembic makes the slug itself), for advice given before it is written."""
    return Path(directive.version_path or script.versions) / f"{directive.rev_id}_*.py"
