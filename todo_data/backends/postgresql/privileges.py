"""What the connected role may read of PostgreSQL's statistics, settings and extensions, and the GRANT for what it may not.

The index report runs for any role that can SELECT the kit's tables. What such a role cannot see (superuser-only
settings such as ``shared_preload_libraries``, other roles' statements in ``pg_stat_statements``, an extension whose
objects were revoked from PUBLIC, column statistics of tables it cannot SELECT) is asked of the catalogue first
(``pg_has_role``, ``has_table_privilege``, ``has_function_privilege``) and becomes a note naming the privilege and
the GRANT that gives it, as PgHero's documentation does for its own role: ``GRANT pg_monitor TO role;`` holds
``pg_read_all_settings``, ``pg_read_all_stats`` and ``pg_stat_scan_tables`` at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from todo_data.indexes.queries import marked

INSUFFICIENT = "<insufficient privilege>"  # pg_stat_statements' query text for another role's statement without pg_read_all_stats

_ROLE = """
SELECT current_user AS role, quote_ident(current_user) AS quoted,
       pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS read_all_settings,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats
"""

# As SQL names them (regclass: quoted where needed, schema-qualified outside the search path), the connection's own schema first.
_UNREADABLE_TABLES = """
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' AND c.relkind IN ('r', 'p', 'm')
  AND NOT has_table_privilege(c.oid, 'SELECT')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname <> current_schema(), n.nspname, c.relname
"""


@dataclass(frozen=True)
class Privileges:
    """The connected role and what it may read beyond its own tables."""

    role: str
    quoted: str  # the role's name as SQL spells it in a GRANT
    read_all_settings: bool  # superuser-only settings (shared_preload_libraries); pg_monitor holds it
    read_all_stats: bool  # other roles' statements and index builds; pg_monitor holds it
    unreadable_tables: tuple[str, ...]  # tables it cannot SELECT, as SQL names them: pg_stats hides their columns' statistics

    def grant(self, what: str) -> str:
        """``GRANT what TO role;``"""
        return f"GRANT {what} TO {self.quoted};"

    def missing(self, lost: str, privilege: str, grant: str, *, monitor: bool = False) -> str:
        """A note: what the report leaves out for this role, the privilege it lacks, and the GRANT that gives it."""
        text = f"Role {self.role} lacks {privilege}, so {lost}. To give it (as a superuser or the object's owner): {grant}"
        if monitor:
            text += f" ({self.grant('pg_monitor')} gives this and the other monitoring roles at once, as PgHero advises)"
        return text


def read_privileges(connection: Connection) -> Privileges:
    row = connection.execute(marked(_ROLE)).one()
    unreadable = tuple(connection.execute(marked(_UNREADABLE_TABLES)).scalars())
    return Privileges(row.role, row.quoted, row.read_all_settings, row.read_all_stats, unreadable)


def can_select(connection: Connection, relation: str) -> bool:
    """Whether the role may SELECT ``relation`` (a qualified, quoted name)."""
    return bool(
        connection.execute(marked("SELECT has_table_privilege(CAST(:relation AS regclass), 'SELECT')"), {"relation": relation}).scalar()
    )


def can_execute(connection: Connection, function: str) -> bool:
    """Whether the role may execute ``function`` (a qualified signature such as ``public.hypopg_create_index(text)``)."""
    return bool(
        connection.execute(
            marked("SELECT has_function_privilege(CAST(:function AS regprocedure), 'EXECUTE')"), {"function": function}
        ).scalar()
    )


_SELECT_DENIED = """
SELECT current_user AS role, quote_ident(current_user) AS quoted, to_regclass(:relation)::text AS relation
WHERE to_regclass(:relation) IS NOT NULL AND NOT has_table_privilege(to_regclass(:relation), 'SELECT')
"""


def missing_select(connection: Connection, relation: str, lost: str) -> str | None:
    """A note naming SELECT on ``relation`` and its GRANT when the role may not read it (which exists), else None."""
    row = connection.execute(marked(_SELECT_DENIED), {"relation": relation}).one_or_none()
    if row is None:
        return None
    role = Privileges(row.role, row.quoted, read_all_settings=True, read_all_stats=True, unreadable_tables=(row.relation,))
    return role.missing(lost, f"SELECT on {row.relation}", role.grant(f"SELECT ON {row.relation}"))
