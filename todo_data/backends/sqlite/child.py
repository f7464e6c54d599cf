"""The child process that runs ADBC's copy of SQLite on a file, away from this process's ``sqlite3`` connections."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import IO, Any


def start_sqlite_child(stderr: IO[bytes], *functions: Callable[..., Any]) -> subprocess.Popen[bytes]:
    """This Python running the functions' source and calling the last, with pipes for stdin and stdout.

    For work on a SQLite file through ADBC's copy of SQLite, away from this process's ``sqlite3`` connections. The
    functions import what they need themselves; ``-P`` keeps a module in the working folder from shadowing those imports.
    """
    source = "from __future__ import annotations\n" + "\n".join(inspect.getsource(function) for function in functions)
    command = [sys.executable, "-P", "-c", f"{source}\n{functions[-1].__name__}()\n"]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)


def sqlite_child_ended(process: subprocess.Popen[bytes], stderr: IO[bytes], role: str) -> str:
    """What to say of a child that stopped answering: its exit code and the last line it wrote to stderr."""
    code = process.wait()
    stderr.seek(0)
    lines = stderr.read().decode(errors="replace").strip().splitlines()
    return f"The SQLite {role} process ended with exit code {code}" + (f": {lines[-1]}" if lines else "")
