"""``todo-data``: a thin command line over todo_data's functions; every failure is one line and exit code 1."""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from todo_data import migrations
from todo_data.errors import TodoDataError
from todo_data.resources import alembic_ini
from todo_data.settings import get_settings, mask_text, url_secrets

if TYPE_CHECKING:  # the impact and trace packages load pandas, which `todo-data` starts without
    import pandas as pd

    from todo_data.impact import Finding

log = logging.getLogger("todo_data.cli")
_LIBPQ_OPTIONS = "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS"


class _MaskingFilter(logging.Filter):
    """Hide passwords in every log line, whatever logged it, and drop Alembic's set-up chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "alembic.runtime.migration" and not record.getMessage().startswith("Running "):
            return False  # "Context impl ...", "Will assume ...": noise for a person
        record.msg = mask_text(record.getMessage(), *_secrets())
        record.args = None
        return True


_URLS_GIVEN: list[str] = []


def _secrets() -> list[str]:
    """Passwords of every URL this run was given, to scrub from anything printed."""
    raw = [*_URLS_GIVEN]
    settings = get_settings()
    raw.extend(secret.get_secret_value() for secret in (settings.database_url, settings.reports_database_url) if secret is not None)
    return [secret for text in raw for secret in url_secrets(text)]


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    logging.getLogger("todo_data").setLevel(logging.INFO)


def _print_result(result: migrations.MigrationResult) -> None:
    before = ", ".join(result.before) or "(none)"
    after = ", ".join(result.after) or "(none)"
    print(f"database: {result.database}")
    if result.adopted:
        print("adopted: the schema was exactly revision 001 but had no alembic_version; stamped 001")
    print(f"revision: {before} -> {after}" if result.changed else f"revision: {after} (nothing to do)")
    tables = sorted(set(result.rows_before) | set(result.rows_after))
    if tables:
        rows = ", ".join(f"{t} {result.rows_before.get(t, '-')} -> {result.rows_after.get(t, '-')}" for t in tables)
        print(f"rows: {rows}")


def _refuse_what_the_data_cannot_take(args: argparse.Namespace, action: str) -> None:
    """``db upgrade`` and ``db downgrade`` measure the steps' data impact first (read-only) and refuse in one line."""
    from todo_data.impact.guard import refusal

    refused = refusal(args.database_url, args.revision, action, accept_data_loss=args.accept_data_loss)
    if refused:
        raise TodoDataError(refused)


def _db_upgrade(args: argparse.Namespace) -> int:
    _refuse_what_the_data_cannot_take(args, "upgrade")
    _print_result(migrations.upgrade(args.database_url, args.revision))
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    _refuse_what_the_data_cannot_take(args, "downgrade")
    _print_result(migrations.downgrade(args.revision, args.database_url))
    return 0


def _db_stamp(args: argparse.Namespace) -> int:
    _print_result(migrations.stamp(args.revision, args.database_url, purge=args.purge))
    return 0


def _db_current(args: argparse.Namespace) -> int:
    state = migrations.status(args.database_url)
    current = ", ".join(state.current) or "(none: an empty database, or one made without Alembic)"
    print(f"database: {state.database}")
    print(f"current: {current}")
    print(f"head: {state.head}")
    print(f"pending: {', '.join(state.pending) if state.pending else 'none'}")
    return 0


def _db_history(args: argparse.Namespace) -> int:
    for info in migrations.history():
        marker = " (head)" if info.is_head else ""
        print(f"{info.down_revision or '<base>'} -> {info.revision}{marker}: {info.message.splitlines()[0]}")
    return 0


def _db_ini(args: argparse.Namespace) -> int:
    print(alembic_ini())
    return 0


def _db_check(args: argparse.Namespace) -> int:
    differences = migrations.check(args.database_url)
    if not differences:
        print("No differences: the database matches the models.")
        return 0
    print(f"{len(differences)} difference(s) between the database and the models:")
    for difference in differences:
        print(f"  {difference}")
    print(migrations.drift_advice(args.database_url))
    return 1


def _db_revision(args: argparse.Namespace) -> int:
    from todo_data import revision

    if args.check:
        checked = revision.check_models()
        if not checked.differences:
            print(f"No changes: the models match head ({migrations.head()}).")
            return 0
        print(f"{len(checked.differences)} difference(s) between the models and head ({migrations.head()}): a revision is missing.")
        for difference in checked.differences:
            print(f"  {difference}")
        for pair in checked.renames:
            print(
                f"  a rename? {pair.source} is dropped and {pair.target} added: `db revision` asks, or answer --rename {pair.source}={pair.target}"
            )
        print('Write it with `todo-data db revision -m "what changed"`, review the file, and commit it with the models.')
        return 1
    if not args.message:
        raise TodoDataError('db revision needs -m MESSAGE saying what changed, e.g. todo-data db revision -m "task notes".')
    result = revision.make_revision(args.message, autogenerate=not args.empty, renames=args.rename, ask=revision.terminal_asker())
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not result.written:
        print("No changes in models; nothing written.")
        return 0
    print(f"wrote {result.path} (revision {result.revision}, after {result.down_revision})")
    for line in result.operations:
        print(f"  {line}")
    if not result.formatted:
        print("note: ruff is not installed, so the file is not formatted: pip install ruff, then ruff format it.")
    if not args.empty and not args.no_test:
        tried = revision.round_trip_revision(result.revision or "head")
        print(tried.to_text())
        failure = (tried.failure or "").rstrip(".")
        if failure and result.unanswered:
            pairs = " ".join(f"--rename {source}={target}" for source, target in {**result.renames, **result.unanswered}.items())
            raise TodoDataError(
                f"The round trip of revision {tried.revision} failed: {failure}. If what it drops was renamed instead "
                f"(the warning above), delete {result.path} and run again with {pairs}; else edit it, then "
                f"`todo-data db test {tried.revision}` runs the round trip again."
            )
        if failure:
            raise TodoDataError(
                f"The round trip of revision {tried.revision} failed: {failure}. {result.path} is written and left for you "
                f"to fix: edit it, then `todo-data db test {tried.revision}` runs the round trip again (or delete it and write it again)."
            )
    print("Next: review the file, then `todo-data db plan` and `todo-data db upgrade`.")
    return 0


def _db_sql(args: argparse.Namespace) -> int:
    sys.stdout.write(migrations.sql(args.range, database_url=args.database_url, dialect=args.dialect))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from todo_data import sample

    result = sample.load_sample(
        args.database_url,
        users=args.users,
        tasks=args.tasks,
        seed=args.seed,
        append=args.append,
        if_empty=args.if_empty,
        anomalies=args.anomalies,
        now=sample.start_of_day(args.as_of),
    )
    print(result.describe())
    return 0


def _summary(args: argparse.Namespace) -> int:
    from todo_data import tasks

    print(tasks.summary(args.database_url).describe())
    return 0


def _db_plan(args: argparse.Namespace) -> int:
    from todo_data.impact import findings_text, impact
    from todo_data.trace import trace

    findings = impact(args.database_url, args.revision)
    if args.trace_url:
        _URLS_GIVEN.append(args.trace_url)
    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)  # the scratch copy's own upgrades are not news to the reader
    try:
        report = trace(args.database_url, trace_url=args.trace_url, target=args.revision, sample_tasks=args.sample_tasks)
    finally:
        migration_log.setLevel(level)
    print(findings_text(findings))
    print()
    print(report.to_text())
    blocking = [item for item in findings if item.blocks]
    locking = report.strict_failures()
    if args.strict and (blocking or not locking.empty):
        print(_strict_line(blocking, locking), file=sys.stderr)
        return 1
    return 0


def _strict_line(blocking: list[Finding], locking: pd.DataFrame) -> str:
    """Why ``db plan --strict`` exits 1, in one line: the findings and the statements it fails on."""
    reasons = []
    if blocking:
        named = ", ".join(f"{item.revision} {item.rule} {item.where}" for item in blocking)
        reasons.append(
            f"{len(blocking)} finding(s) that fail or lose data the revision does not acknowledge ({named}): fix them, or "
            "acknowledge a loss that is meant in the revision (acknowledge_data_loss)"
        )
    if not locking.empty:
        named = ", ".join(f"{revision} step {step}" for revision, step in zip(locking["revision"], locking["step"], strict=True))
        reasons.append(
            f"{len(locking)} statement(s) that block reads on a table with rows while no lock_timeout is set ({named}): set LOCK_TIMEOUT (5s by default)"
        )
    return "todo-data: db plan --strict fails on " + "; and on ".join(reasons) + "."


def _db_test(args: argparse.Namespace) -> int:
    from todo_data.roundtrip import round_trip

    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)  # the copy's own upgrades and downgrades are the report's steps
    try:
        result = round_trip(args.database_url, args.revision, sample_tasks=args.sample_tasks)
    finally:
        migration_log.setLevel(level)
    print(result.to_text())
    return 0 if result.ok else 1


def _report(args: argparse.Namespace) -> int:
    from todo_data import reports

    names = args.names
    if "all" in names and len(names) > 1:
        raise TodoDataError("report: give 'all' alone, or report names")
    for name in names if names != ["all"] else []:
        reports.notebook_path(name)  # an unknown name fails before anything runs
    for key, value in args.parameter or []:
        if key == "database_url":
            _URLS_GIVEN.append(value)
    values = reports.cli_values(names, args.parameter or [])
    _require_writable_folder(Path(args.output_dir))
    run = reports.run_reports(
        names, output_dir=args.output_dir, parameters=values, database_url=args.database_url, show_code=args.show_code
    )
    for result in run.results:
        if result.ok:
            print(f"{result.name}: {result.html}")
        else:
            where = f" (executed notebook: {result.notebook})" if result.notebook.exists() else ""
            print(f"todo-data: error: {mask_text(result.error or '', *_secrets())}{where}", file=sys.stderr)
    return 0 if run.ok else 1


def _export(args: argparse.Namespace) -> int:
    from todo_data import export

    priority = [export.PRIORITY_LABELS.get(value, value) for value in args.priority] if args.priority else None
    result = export.export(
        args.tables,
        args.output_dir,
        format=args.format,
        database_url=args.database_url,
        user_id=args.user,
        completed={"all": None, "open": False, "completed": True}[args.status],
        priority=priority,
        created_from=args.created_from,
        created_to=args.created_to,
        text=args.text,
    )
    print(f"database: {result.database}")
    for file in result.files:
        print(f"{file.name}: {file.rows} rows -> {file.path}")
    return 0


def _require_writable_folder(folder: Path) -> None:
    """Make ``--output-dir`` (and its parents) now, so a bad one is refused before any report runs."""
    if folder.exists() and not folder.is_dir():
        raise TodoDataError(f"--output-dir {folder} is a file, not a folder: choose a folder you can write to.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TodoDataError(f"--output-dir {folder} cannot be made ({exc.strerror}): choose a folder you can write to.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TodoDataError(f"--output-dir {folder} is not writable: choose a folder you can write to.")


def _url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help="database to use (default: $DATABASE_URL, else the embedded SQLite file ./data/todo.db)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``todo-data`` argument parser."""
    parser = argparse.ArgumentParser(prog="todo-data", description="Data tooling for the todo application's database.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="migrations: upgrade, downgrade, current, history, check, revision, sql, stamp, ini, plan")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = db_commands.add_parser(name, help=help_text, description=help_text)
        _url_option(sub)
        sub.set_defaults(handler=handler)
        return sub

    upgrade = add(
        "upgrade",
        _db_upgrade,
        "upgrade the database (default: to head); refuses a step that fails on the stored data or destroys it (measured first)",
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.add_argument(
        "--accept-data-loss",
        action="store_true",
        help="upgrade even where a revision destroys stored values or rows it does not acknowledge (acknowledge_data_loss)",
    )
    downgrade = add("downgrade", _db_downgrade, "downgrade the database to REVISION (e.g. 001); refuses to destroy stored data")
    downgrade.add_argument("revision")
    downgrade.add_argument(
        "--accept-data-loss", action="store_true", help="downgrade even where a revision's downgrade destroys stored values or rows"
    )
    add("current", _db_current, "show the database's revision and what is pending")
    add("history", _db_history, "list the revisions")
    add("check", _db_check, "compare the database with the models (exit 1 on differences)")
    revision_help = "write the next revision (005, ...) from the models' changes, or --check that none is missing"
    revision = db_commands.add_parser("revision", help=revision_help, description=revision_help)
    revision.set_defaults(handler=_db_revision)
    revision.add_argument("-m", "--message", default=None, help="what the revision changes (its file name's slug)")
    kind = revision.add_mutually_exclusive_group()
    kind.add_argument("--autogenerate", action="store_true", help="compare the models with head (the default)")
    kind.add_argument("--empty", action="store_true", help="write an empty revision to fill in by hand")
    kind.add_argument("--check", action="store_true", help="write nothing; exit 1 when the models differ from head (for CI)")
    revision.add_argument(
        "--rename",
        action="append",
        metavar="OLD=NEW",
        help="answer 'did you rename?' without a terminal: a column, --rename task.description=task.notes, or a table, "
        "--rename task=todo (repeatable)",
    )
    revision.add_argument(
        "--no-test",
        action="store_true",
        help="skip the round trip of the written revision on a scratch SQLite database with sample data (upgrade, check, "
        "downgrade, upgrade again)",
    )
    sql = add("sql", _db_sql, "print the SQL of FROM:TO without a database (001:head upgrades, head:001 downgrades)")
    sql.add_argument("range", metavar="FROM:TO")
    sql.add_argument("--dialect", choices=sorted(migrations.DIALECT_URLS), default=None, help="SQL dialect (default: the URL's)")
    stamp = add("stamp", _db_stamp, "record REVISION as current without running it")
    stamp.add_argument("revision")
    stamp.add_argument(
        "--purge",
        action="store_true",
        help="first delete what alembic_version holds, as `alembic stamp --purge` (replaces a revision this project does not know)",
    )
    ini_help = 'print the path of the alembic.ini that plain Alembic takes: alembic -c "$(todo-data db ini)" current'
    db_commands.add_parser("ini", help=ini_help, description=ini_help).set_defaults(handler=_db_ini)
    plan = add("plan", _db_plan, "trace what each pending statement locks, rewrites and blocks, on a scratch copy; changes nothing")
    plan.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    plan.add_argument("--trace-url", metavar="URL", default=None, help="trace on this staging copy instead of a scratch database")
    plan.add_argument("--sample-tasks", type=int, default=0, metavar="N", help="fill the scratch database with N sample tasks")
    plan.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a statement blocks reads on a table with rows and no lock_timeout is set, when a step fails on the "
        "stored data, or when it destroys data the revision does not acknowledge (acknowledge_data_loss)",
    )

    test = add(
        "test",
        _db_test,
        "round trip of a revision on a copy with data: upgrade, check, downgrade one step, upgrade again, every column "
        "checksummed; exit 1 when a column it does not touch changes or one it touches does not come back",
    )
    test.add_argument("revision", nargs="?", default="head", help="the revision to test (default head)")
    test.add_argument(
        "--sample-tasks", type=int, default=200, metavar="N", help="sample tasks for a scratch copy whose tables are empty (default 200)"
    )

    sample = commands.add_parser("sample", help="load generated sample data", description="Load deterministic sample data.")
    _url_option(sample)
    sample.add_argument("--users", type=int, default=20, help="how many users (default 20)")
    sample.add_argument("--tasks", type=int, default=200, help="how many tasks (default 200)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    mode = sample.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="add to tables that already hold rows")
    mode.add_argument("--if-empty", action="store_true", help="do nothing when the tables already hold rows")
    sample.add_argument(
        "--as-of",
        metavar="DATE",
        default=None,
        help="activity runs up to the start of DATE in UTC (ISO 8601; default today); the same seed and date give the same rows",
    )
    sample.add_argument(
        "--anomalies", action="store_true", help="plant a few data-quality problems and a dependency cycle for the task report to find"
    )
    sample.set_defaults(handler=_sample)

    summary = commands.add_parser("summary", help="print row counts and task status", description="Print a short summary.")
    _url_option(summary)
    summary.set_defaults(handler=_summary)

    export = commands.add_parser(
        "export",
        help="write tasks, users and dependencies to Parquet or CSV files",
        description="Write tasks, users and dependencies (task_relationships), or all, to DIR/NAME.parquet or DIR/NAME.csv, "
        "streamed from a read-only connection; the filters select tasks (and so the users owning them and their dependencies).",
    )
    _url_option(export)
    export.add_argument(
        "tables", nargs="+", choices=["tasks", "users", "dependencies", "all"], metavar="TABLE", help="tasks, users, dependencies or all"
    )
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    export.add_argument("--output-dir", default="exports", metavar="DIR", help="where to write the files (default ./exports)")
    export.add_argument("--user", metavar="ID", default=None, help="only this user's tasks (a user id)")
    export.add_argument("--status", choices=["all", "open", "completed"], default="all", help="open or completed tasks only (default all)")
    export.add_argument(
        "--priority", action="append", metavar="P", help="only this priority; repeat for several; (none) for no priority, (empty) for ''"
    )
    export.add_argument("--created-from", metavar="DATE", default=None, help="tasks created on or after DATE (ISO 8601, UTC)")
    export.add_argument("--created-to", metavar="DATE", default=None, help="tasks created up to DATE (a date includes the whole day)")
    export.add_argument("--text", default=None, help="tasks whose title or description contains TEXT (any case)")
    export.set_defaults(handler=_export)

    report = commands.add_parser(
        "report",
        help="run report notebooks with papermill into executed notebooks and HTML",
        description="Run report notebooks (01-schema, 02-migrations, 03-index-usage, 04-task-report, 05-explorer, 06-sql, or all) "
        "with papermill; writes DIR/NAME.ipynb and DIR/NAME.html and prints the HTML paths.",
    )
    _url_option(report)
    report.add_argument("names", nargs="+", metavar="NAME", help="report name(s), e.g. 04-task-report, or all")
    report.add_argument("--output-dir", default="reports", metavar="DIR", help="where to write the reports (default ./reports)")
    report.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"), help="a notebook parameter, as papermill's -p"
    )
    report.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML (hidden by default)")
    report.set_defaults(handler=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``todo-data``."""
    _configure_logging()
    args = build_parser().parse_args(argv)
    if getattr(args, "database_url", None):
        _URLS_GIVEN.append(args.database_url)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return code
    except TodoDataError as exc:
        print(f"todo-data: error: {mask_text(str(exc), *_secrets())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("todo-data: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        # `todo-data summary | head -3`: stop quietly, with the status a unix tool stopped by SIGPIPE has.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as exc:
        if os.environ.get("TODO_DATA_DEBUG") == "1":
            raise
        print(f"todo-data: error: {mask_text(_describe_unexpected(exc), *_secrets())}", file=sys.stderr)
        return 1


def _stdout_closed() -> bool:
    """Whether nothing reads standard output any more (a pipe whose reader exited reports an error when polled)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def _describe_unexpected(exc: Exception) -> str:
    """One line for an error no todo_data function put into words: what the driver or the OS refused, and what to do."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, DBAPIError) and ("connection option" in first or first.startswith("connection is bad:")):
        detail = first.removeprefix("connection is bad:").strip()
        return f"The database URL has an option the driver refuses ({detail}): fix or remove it; libpq's options are listed at {_LIBPQ_OPTIONS}."
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}: check the path and its permissions (set TODO_DATA_DEBUG=1 for the traceback)."
    return f"unexpected {type(exc).__name__}: {first} (set TODO_DATA_DEBUG=1 for the traceback)"


if __name__ == "__main__":
    sys.exit(main())
