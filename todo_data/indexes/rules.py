"""The index rules: each a function from what was read (a :class:`Catalog` and the canonical queries' plans) to findings.

They are registered in :data:`CHECKS`, in no order that matters: a rule that depends on another's conclusion (the
unused-index rule spares the copy a duplicate-index finding keeps) computes it from the same data. PgHero
(``duplicate_indexes``, ``unused_indexes``, ``invalid_indexes``, ``missing_indexes``, ``index_bloat``) is the model,
with the performance lints of Supabase's splinter (``unindexed_foreign_keys``, ``no_primary_key``,
``duplicate_index``, ``table_bloat``, ``unused_index``, ``invalid_index``, ``autovacuum_disabled``,
``multiple_permissive_policies``). They judge every table the catalogue
holds, other applications' included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from todo_data.indexes.catalog import Catalog, Index, duration, size
from todo_data.indexes.plans import Plans
from todo_data.indexes.queries import CANONICAL_INDEXES, ServingIndex
from todo_data.indexes.support import IndexSupport, Suggestion

RULES = {
    "invalid-index": "An index a failed CREATE INDEX CONCURRENTLY left behind: writes maintain it, no query can use it.",
    "duplicate-index": "Two indexes with the same columns, order and predicate: one of them is pure write cost.",
    "redundant-prefix-index": "A non-unique index whose columns lead another index with the same predicate.",
    "fk-without-index": "A foreign key with no index led by its columns: deleting or updating a parent row scans the child table.",
    "no-primary-key": "A table without a primary key (splinter's no_primary_key): no key identifies a row, duplicates are possible.",
    "unused-index": "No scans in a statistics window of a week or more (unique and primary-key indexes are exempt).",
    "too-young-to-judge": "No scans, but the statistics cover too little of the index's life to call it unused: "
    "the window is under a week, or of unknown length, or the index was built during it.",
    "seq-scan-heavy": "A table of 10,000+ rows read mostly by sequential scans (PgHero's missing-index check).",
    "index-bloat": "An index with much more space than its rows need (estimated on PostgreSQL, measured on SQLite).",
    "table-bloat": "A table with much more space than its rows need (estimated on PostgreSQL, measured on SQLite).",
    "autovacuum-disabled": "A table with autovacuum_enabled = false (splinter's autovacuum_disabled): its dead rows and statistics are left to hand-run VACUUM and ANALYZE.",
    "multiple-permissive-policies": "Several permissive row-level security policies for one role and command (splinter's "
    "multiple_permissive_policies): PostgreSQL evaluates every one of them for each row.",
    "low-cache-hit": "Under 99% of table or index block reads were served from shared buffers.",
    "full-scan": "A canonical query reads its whole table because the index that serves it is missing.",
    "temp-sort": "A canonical query sorts its rows because no index delivers them in order.",
    "generic-plan-regression": "Prepared, a canonical query's generic plan scans the whole table or sorts, which its custom plan avoids.",
}

UNUSED_MIN_WINDOW = timedelta(days=7)  # PgHero's advice: reset the statistics and wait a week or two before judging
SEQ_SCAN_MIN_ROWS = 10_000  # PgHero's missing_indexes thresholds
SEQ_SCAN_MAX_INDEX_SHARE = 0.95
CACHE_HIT_MIN = 0.99
CACHE_MIN_BLOCKS = 1_000
BLOAT_MIN_BYTES = 1 << 20
BLOAT_MIN_RATIO = 0.5  # B-trees filled by random inserts settle near 70%: only flag clearly worse
BLOAT_MEDIUM_BYTES = 100 << 20  # PgHero's index_bloat_bytes default

Finding = dict[str, Any]
Rule = Callable[[Catalog, Plans, IndexSupport], list[Finding]]


def finding(rule: str, severity: str, table: str | None, index: str | None, evidence: str, sql: str | None, op: str | None) -> Finding:
    return {
        "rule": rule,
        "severity": severity,
        "table": table,
        "index": index,
        "evidence": evidence,
        "suggested_sql": sql,
        "alembic_op": op,
    }


# --- index shapes -------------------------------------------------------------------------------------------------


def _same_scope(a: Index, b: Index) -> bool:
    return a.table == b.table and a.method == b.method and a.predicate == b.predicate and a.valid and b.valid


def _covers_include(a: Index, b: Index) -> bool:
    return set(a.include) <= set(b.keys) | set(b.include)


def _flip(signature: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple((key, direction ^ 3, extra) for key, direction, extra in signature)


def _kind(index: Index) -> str:
    if index.primary:
        return "PRIMARY KEY"
    if index.constraint_kind:
        return f"{index.constraint_kind.upper()} constraint{' ' + index.constraint if index.constraint else ''}"
    return "UNIQUE"


def leading(index: Index, columns: tuple[str, ...]) -> bool:
    """Whether ``index`` can look rows up by equality on all of ``columns`` (in any order) from its first keys."""
    n = len(columns)
    usable = index.valid and index.predicate is None and index.method in ("btree", "hash")
    return usable and len(index.keys) >= n and all(index.plain[:n]) and set(index.keys[:n]) == set(columns)


def serves(index: Index, serving: ServingIndex) -> bool:
    """Whether ``index`` answers a query filtering on ``serving.equality`` and ordered by ``serving.order``."""
    if not leading(index, serving.equality) or index.method != "btree":
        return False
    n = len(serving.equality)
    order = index.keys[n : n + len(serving.order)]
    return order == serving.order and all(index.plain[n : n + len(serving.order)])


def _duplicate_of(catalog: Catalog, a: Index) -> Index | None:
    """The copy of ``a`` to keep when ``a`` is a duplicate to drop, else None."""
    if not a.valid or a.primary or a.inherited:
        return None
    # A copy in the opposite order is a duplicate too: a backward scan gives that order (errata 27).
    same = [
        b
        for b in catalog.on(a.table)
        if b.name != a.name and _same_scope(a, b) and _covers_include(a, b) and b.signature in (a.signature, _flip(a.signature))
    ]
    duplicates = [b for b in same if (b.keep_key, a.name) > (a.keep_key, b.name)]
    return min(duplicates, key=lambda b: (-b.keep_key[0], -b.keep_key[1], b.name)) if duplicates else None


def _unserved_plans(catalog: Catalog, plans: Plans) -> list[dict[str, Any]]:
    """The plan rows of canonical queries that scan or sort because no index serves them."""
    found = []
    for plan in plans.frame.to_dict("records"):
        serving = CANONICAL_INDEXES[plan["query"]]
        if any(serves(index, serving) for index in catalog.on(serving.table)) or not (plan["full_scan"] or plan["temp_sort"]):
            continue
        found.append(plan)
    return found


def _unindexed_foreign_keys(catalog: Catalog) -> list[Any]:
    return [
        fk
        for fk in catalog.foreign_keys
        if not any(leading(index, fk.columns) for index in catalog.on(fk.table)) and fk.columns != (catalog.rowid_keys.get(fk.table),)
    ]


def suggestions(catalog: Catalog, plans: Plans) -> list[Suggestion]:
    """The indexes to create: one per canonical query no index serves, then one per foreign key without an index.

    A foreign key reuses a suggested index its columns lead. Targets are the lookups each is meant to help.
    """
    made: list[Suggestion] = []

    def add(table: str, columns: tuple[str, ...], *, target: Any = None, fk: Any = None) -> None:
        for i, s in enumerate(made):
            same = s.columns == columns
            leads = fk is not None and set(s.columns[: len(columns)]) == set(columns)
            if s.table == table and (same or leads):
                targets, fks = s.targets + ((target,) if target else ()), s.foreign_keys + ((fk,) if fk else ())
                made[i] = Suggestion(s.table, s.columns, targets, fks, s.schema)
                return
        made.append(Suggestion(table, columns, (target,) if target else (), (fk,) if fk else (), fk.schema if fk else None))

    for plan in _unserved_plans(catalog, plans):
        serving = CANONICAL_INDEXES[plan["query"]]
        add(serving.table, serving.columns, target=(plan["query"], plan["sql"], plan["parameters"]))
    for fk in _unindexed_foreign_keys(catalog):
        add(fk.table, fk.columns, fk=fk)
    return made


def _suggestion_for(made: list[Suggestion], table: str, columns: tuple[str, ...], *, fk: bool = False) -> Suggestion:
    return next(s for s in made if s.table == table and (s.columns == columns or (fk and set(s.columns[: len(columns)]) == set(columns))))


# --- the rules ----------------------------------------------------------------------------------------------------


def invalid_indexes(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Indexes being built right now (info), and invalid ones a failed CREATE INDEX CONCURRENTLY left (high)."""
    found = []
    for index in catalog.indexes:
        if index.creating:
            evidence = f"{index.name} is being built right now (CREATE INDEX CONCURRENTLY)."
            found.append(finding("invalid-index", "info", index.table, index.name, evidence, None, None))
        elif not index.valid:
            sql, op = support.drop(index)
            evidence = (
                f"{index.name} is invalid (pg_index.indisvalid = false), left by a failed CREATE INDEX CONCURRENTLY or REINDEX: "
                f"writes still maintain it{' and it still rejects duplicates' if index.unique else ''}, no query uses it. "
                f"Drop it, fix the cause (for a unique index: duplicate rows), then create it again: {index.definition}"
            )
            found.append(finding("invalid-index", "high", index.table, index.name, evidence, sql, op))
    return found


def duplicate_indexes(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Indexes with the same keys, order (or its reverse), predicate and INCLUDE columns as one kept instead."""
    found = []
    for a in catalog.indexes:
        keeper = _duplicate_of(catalog, a)
        if keeper is None:
            continue
        sql, op = support.drop(a)
        evidence = (
            f"{a.name} ({a.display_columns()}) duplicates {keeper.name} ({keeper.display_columns()}"
            f"{', ' + _kind(keeper) if keeper.keep_rank else ''}): every write maintains both, and any query can use {keeper.name}"
        )
        if a.constraint_kind:
            evidence += support.constraint_drop_note()
        found.append(finding("duplicate-index", "medium", a.table, a.name, evidence + ".", sql, op))
    return found


def redundant_prefix_indexes(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Non-unique B-trees whose keys lead a longer index with the same predicate (duplicates are the rule above's)."""
    found = []
    for a in catalog.indexes:
        if not a.valid or a.primary or a.unique or a.inherited or a.method != "btree" or _duplicate_of(catalog, a) is not None:
            continue
        n = len(a.keys)
        covering = [
            b
            for b in catalog.on(a.table)
            if b.name != a.name
            and _same_scope(a, b)
            and _covers_include(a, b)
            and len(b.keys) > n
            and a.signature in (b.signature[:n], _flip(b.signature[:n]))
        ]
        if covering:
            keeper = min(covering, key=lambda b: (len(b.keys), b.name))
            sql, op = support.drop(a)
            evidence = (
                f"{a.name} ({a.display_columns()}) is the leading part of {keeper.name} ({keeper.display_columns()}), "
                f"which serves the same lookups and orderings; dropping {a.name} saves {size(a.size_bytes)} and its write cost."
            )
            found.append(finding("redundant-prefix-index", "low", a.table, a.name, evidence, sql, op))
    return found


def foreign_keys_without_index(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Foreign keys no index is led by: each delete or key update of a parent row scans the child table."""
    made = suggestions(catalog, plans)
    found = []
    for fk in _unindexed_foreign_keys(catalog):
        suggestion = _suggestion_for(made, fk.table, fk.columns, fk=True)
        name = support.index_name(suggestion.table, suggestion.columns)
        sql, op = support.create(name, suggestion.table, suggestion.columns, suggestion.schema)
        rows = catalog.rows.get(fk.table)
        evidence = (
            f"Foreign key {fk.name + ' ' if fk.name else ''}{fk.table}({', '.join(fk.columns)}) -> {fk.referred_table}"
            f"({', '.join(fk.referred_columns)}) has no index led by its columns: each delete or key update in "
            f"{fk.referred_table} scans {fk.table}{f' ({rows:,} rows)' if rows is not None else ''}."
        )
        if suggestion.columns != fk.columns:
            evidence += f" {name}, suggested for a canonical query, leads with them and covers it."
        found.append(finding("fk-without-index", "medium", fk.table, name, evidence, sql, op))
    return found


def tables_without_primary_key(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Tables no primary key identifies rows of (SQLite: neither a declared one nor an INTEGER PRIMARY KEY rowid alias)."""
    keyed = {index.table for index in catalog.indexes if index.primary} | set(catalog.rowid_keys)
    found = []
    for table in catalog.tables:
        if table["table"] in keyed or table.get("partition"):  # a partition gets its parent's key: judged there
            continue
        evidence = f"{table['table']} has no primary key: {support.without_primary_key}"
        evidence += " Add one on the column (or columns) that identify a row, in the migrations of the application that owns the table."
        found.append(finding("no-primary-key", "low", table["table"], None, evidence, None, None))
    return found


def _too_young(catalog: Catalog, index: Index) -> str | None:
    """Why 0 scans do not show that ``index`` is unused (the verdict first), or None when they do.

    Knowable on a stock server: the window's length, and for a B-tree without a predicate whether it lived through
    the window's writes, since every row its table inserts, or updates other than HOT, reads at least one of its
    blocks. When the index saw fewer block accesses than that, it was built during the window (a migration, say).
    """
    length, exact = catalog.stats.length() if catalog.stats else (None, False)
    again = f"read this report again after {duration(UNUSED_MIN_WINDOW)} of normal use"
    if length is None:
        return (
            "Statistics window of unknown length, too short to judge: 0 scans since statistics began, and this database does "
            "not record when that was (never reset, no vacuum or analyze time yet), so it may be minutes. "
            f"Reset the statistics (SELECT pg_stat_reset();) and {again}."
        )
    if length < UNUSED_MIN_WINDOW and exact:
        since = catalog.stats.since.isoformat(timespec="seconds") if catalog.stats and catalog.stats.since else ""
        return (
            f"Statistics window of {duration(length)}, too short to judge: 0 scans since the reset at {since}; "
            f"read this report again after {duration(UNUSED_MIN_WINDOW - length)} more of normal use."
        )
    if length < UNUSED_MIN_WINDOW:
        return (
            f"Statistics window of unknown length, too short to judge: 0 scans since statistics began (never reset); the oldest "
            f"vacuum or analyze time they hold is only {duration(length)} old. Reset the statistics (SELECT pg_stat_reset();) "
            f"and {again}."
        )
    if (
        index.method == "btree"
        and index.predicate is None
        and index.blocks is not None
        and index.table_writes is not None
        and index.blocks < index.table_writes
    ):
        return (
            f"Too young to judge: built during the statistics window ({catalog.window()}), so its 0 scans cover an unknown, "
            f"maybe short, time. Its table wrote {index.table_writes:,} rows into its indexes in the window, and this index saw "
            f"{index.blocks:,} block accesses, fewer than one per row; {again} with it."
        )
    return None


def unused_indexes(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Indexes with 0 scans in a window long enough to judge; too-young-to-judge where it is not (usage counters only)."""
    keepers = {keeper.name for a in catalog.indexes if (keeper := _duplicate_of(catalog, a)) is not None}
    fk_sole = {
        next(i.name for i in catalog.on(fk.table) if leading(i, fk.columns))
        for fk in catalog.foreign_keys
        if sum(leading(i, fk.columns) for i in catalog.on(fk.table)) == 1
    }
    found = []
    for index in catalog.indexes:
        if index.creating or not index.valid or index.unique or index.primary or index.inherited or index.scans != 0:
            continue
        if index.name in keepers:
            continue  # its copies are to be dropped first; advising to drop this one too would leave none
        young = _too_young(catalog, index)
        if young is not None:
            found.append(finding("too-young-to-judge", "info", index.table, index.name, young, None, None))
            continue
        window = catalog.window()
        if index.name in fk_sole:
            evidence = f"{index.name}: 0 scans {window}, but it is the only index serving a foreign key: keep it if parent rows are deleted or updated."
            found.append(finding("unused-index", "info", index.table, index.name, evidence, None, None))
            continue
        sql, op = support.drop(index)
        evidence = f"{index.name} ({index.display_columns()}, {size(index.size_bytes)}): 0 scans {window}."
        found.append(finding("unused-index", "medium", index.table, index.name, evidence, sql, op))
    return found


def seq_scan_heavy_tables(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Tables of SEQ_SCAN_MIN_ROWS or more read mostly by sequential scans (PgHero's missing_indexes)."""
    found = []
    for table in catalog.tables:
        rows, seq, idx = table["rows_estimate"] or 0, table["seq_scan"] or 0, table["idx_scan"] or 0
        if rows >= SEQ_SCAN_MIN_ROWS and seq and idx / (seq + idx) < SEQ_SCAN_MAX_INDEX_SHARE:
            evidence = (
                f"{table['table']} (~{rows:,} rows): {seq:,} sequential scans read {table.get('seq_tup_read') or 0:,} rows, against "
                f"{idx:,} index scans ({idx / (seq + idx):.0%} by index) {catalog.window()}. Find the statements in top_queries "
                "(pg_stat_statements) and index what they filter on."
            )
            found.append(finding("seq-scan-heavy", "medium", table["table"], None, evidence, None, None))
    return found


def _bloated(bloat: int | None, total: int | None) -> bool:
    return bool(bloat and total and bloat >= BLOAT_MIN_BYTES and bloat / total >= BLOAT_MIN_RATIO)


def bloat(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Indexes and tables with much more space than their rows need, and how to return it."""
    found = []
    for index in catalog.indexes:
        if _bloated(index.bloat_bytes, index.size_bytes):
            sql, how = support.rebuild_index(index)
            evidence = f"{index.name} takes {size(index.size_bytes)}, of which about {size(index.bloat_bytes)} is wasted ({how}); a rebuild returns it."
            severity = "medium" if (index.bloat_bytes or 0) >= BLOAT_MEDIUM_BYTES else "low"
            found.append(finding("index-bloat", severity, index.table, index.name, evidence, sql, None))
    for table in catalog.tables:
        if _bloated(table["bloat_bytes"], table["size_bytes"]):
            sql, how = support.rebuild_table(table["table"], table.get("schema"))
            evidence = f"{table['table']} takes {size(table['size_bytes'])}, of which about {size(table['bloat_bytes'])} is wasted ({how})."
            severity = "medium" if table["bloat_bytes"] >= BLOAT_MEDIUM_BYTES else "low"
            found.append(finding("table-bloat", severity, table["table"], None, evidence, sql, None))
    return found


def autovacuum_disabled(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Tables whose storage parameter turns autovacuum off (splinter's autovacuum_disabled)."""
    found = []
    for table in catalog.tables:
        if not table.get("autovacuum_disabled"):
            continue
        dead = table.get("dead_rows")
        evidence = (
            f"{table['table']} has autovacuum_enabled = false: autovacuum neither removes its dead rows"
            f"{f' ({dead:,} now)' if dead is not None else ''} nor refreshes its planner statistics, so the table bloats and "
            "plans drift unless VACUUM (ANALYZE) is run by hand on a schedule. Turn it back on unless that schedule exists."
        )
        found.append(
            finding(
                "autovacuum-disabled",
                "low",
                table["table"],
                None,
                evidence,
                support.enable_autovacuum(table["table"], table.get("schema")),
                None,
            )
        )
    return found


def multiple_permissive_policies(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Two or more permissive policies that apply to one role and command (a PUBLIC policy applies to every role)."""
    applying: dict[tuple[str, str, str], set[str]] = {}
    for policy in catalog.policies:
        if policy.permissive:
            for role in policy.roles:
                for command in policy.commands:
                    applying.setdefault((policy.table, role, command), set()).add(policy.name)
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for (table, role, command), names in sorted(applying.items()):
        every = names | (applying.get((table, "PUBLIC", command), set()) if role != "PUBLIC" else set())
        if len(every) > 1:
            grouped.setdefault((table, role, tuple(sorted(every))), []).append(command)
    found = []
    for (table, role, names), commands in grouped.items():
        evidence = (
            f"{table} has {len(names)} permissive policies for {'every role (PUBLIC)' if role == 'PUBLIC' else 'role ' + role} on "
            f"{', '.join(commands)}: {', '.join(names)}. PostgreSQL evaluates each of them for every row and ORs the results; "
            "one policy whose USING (and WITH CHECK) ORs their conditions costs one evaluation."
        )
        found.append(finding("multiple-permissive-policies", "low", table, None, evidence, None, None))
    return found


def cache_hit_rates(catalog: Catalog) -> dict[str, float | None]:
    """The share of block reads served from the cache, per kind (``table``, ``index``); None where nothing was counted."""
    if not catalog.cache:
        return {"index": None, "table": None}
    return {kind: hit / (hit + read) if hit + read else None for kind, (hit, read) in catalog.cache.items()}


def low_cache_hit(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Table or index cache hit rates under CACHE_HIT_MIN over at least CACHE_MIN_BLOCKS block reads."""
    found = []
    for kind, (hit, read) in catalog.cache.items():
        rate = hit / (hit + read) if hit + read else None
        if rate is not None and hit + read >= CACHE_MIN_BLOCKS and rate < CACHE_HIT_MIN:
            evidence = (
                f"{kind.capitalize()} cache hit rate {rate:.1%} ({hit:,} hits, {read:,} reads {catalog.window()}); PgHero's "
                "guideline is above 99%: the working set does not fit in shared_buffers (more memory, or less to read)."
            )
            found.append(finding("low-cache-hit", "medium", None, None, evidence, None, None))
    return found


def unserved_queries(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Canonical queries that read their whole table (full-scan) or sort (temp-sort) because no index serves them."""
    made = suggestions(catalog, plans)
    found = []
    for plan in _unserved_plans(catalog, plans):
        serving = CANONICAL_INDEXES[plan["query"]]
        suggestion = _suggestion_for(made, serving.table, serving.columns)
        name = support.index_name(suggestion.table, suggestion.columns)
        sql, op = support.create(name, suggestion.table, suggestion.columns)
        rule = "full-scan" if plan["full_scan"] else "temp-sort"
        steps = " and ".join(s for s, on in (("reads the whole table", plan["full_scan"]), ("sorts its rows", plan["temp_sort"])) if on)
        evidence = (
            f"{plan['query']} ({plan['sql']}) {steps}: no valid index on {serving.table} leads with "
            f"{', '.join(serving.columns)}. Plan: {' / '.join(line.strip() for line in plan['plan'].splitlines()[:4])}"
        )
        found.append(finding(rule, "medium" if rule == "full-scan" else "low", serving.table, name, evidence, sql, op))
    return found


def generic_plan_regressions(catalog: Catalog, plans: Plans, support: IndexSupport) -> list[Finding]:
    """Canonical queries whose generic plan scans or sorts where the custom plan does not (found while planning)."""
    return list(plans.regressions)


CHECKS: list[Rule] = [
    invalid_indexes,
    duplicate_indexes,
    redundant_prefix_indexes,
    foreign_keys_without_index,
    tables_without_primary_key,
    unused_indexes,
    seq_scan_heavy_tables,
    bloat,
    autovacuum_disabled,
    multiple_permissive_policies,
    low_cache_hit,
    unserved_queries,
    generic_plan_regressions,
]
