"""A schema written out as one SQL script that recreates it, under another name, elsewhere.

The script names no schema. It is generated with search_path = <source>, public, so
PostgreSQL's own deparsers (format_type, pg_get_expr, pg_get_constraintdef) leave the
source's objects unqualified, and public's too unless something in the source shadows them
(then they qualify them). Replayed with search_path = <new schema>, public, every name
resolves to the same place it did for the migrations that built the source. Two deparsers
always qualify the table they are on (pg_get_indexdef, pg_get_triggerdef): that one name is
cut back to the table's own.

Order, as pg_restore loads a dump: sequences, tables, the rows, sequence positions,
constraints (keys before the foreign keys that need them), indexes, triggers. The rows go in
before any trigger exists, so none fires on them; a foreign key made after the tables
resolves to the new schema's table, never to public's table of the same name.

What a migration of ours makes is written: ordinary and unlogged tables, partitioned tables
and their partitions (the raw usage table is partitioned by month); columns with their
types, collations, defaults, identity and generated expressions and NOT NULL (named, from
PostgreSQL 18); sequences; primary, unique, exclusion, check and foreign key constraints;
indexes; triggers; table and column comments; the rows and where each sequence stands.
Anything else in the source (a view, a function, a type, a rule, a policy, inheritance other
than partitions, row security, a constraint trigger) raises Unsupported: a script that
silently left it out would make workspaces unlike migrated ones.
"""

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

from core.db import connection


class Unsupported(Exception):
    """The source schema holds something the script can't recreate exactly."""


@dataclass(frozen=True)
class Script:
    sql: str
    statements: int
    # Tables outside the schema its foreign keys reference (quoted, qualified): making such a
    # key locks the referenced table (snapshot.provisioning_lock says why that matters).
    referenced: tuple[str, ...] = ()


def quote_ident(name: str) -> str:
    """PostgreSQL's quoting of an identifier (always quoted: valid for any name)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A string constant (standard_conforming_strings, PostgreSQL's default since 9.1)."""
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def search_path(cursor, *schemas: str):
    """search_path = `schemas` for the rest of the block, then what it was (call inside a transaction).

    django-tenants remembers the path it last set on the connection and sets it again only
    when it changes its mind, so the path must be what it was when the block ends. On an
    error the transaction is aborted anyway and its rollback restores the path.
    """
    cursor.execute("SELECT current_setting('search_path')")
    before = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('search_path', %s, true)", [", ".join(quote_ident(s) for s in schemas)])
    yield
    cursor.execute("SELECT set_config('search_path', %s, true)", [before])


def schema_script(schema: str) -> Script:
    """The script that recreates `schema` (its objects and rows) in whichever schema is first
    on the search_path when it runs.

    Raises Unsupported for an object the script can't recreate, LookupError when the schema
    does not exist.
    """
    with transaction.atomic(), connection().cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no schema {schema!r}")
        nsp = row[0]
        _refuse_unsupported(cursor, nsp, schema)
        with search_path(cursor, schema, "public"):
            return _Writer(cursor, nsp, schema).script()


def _refuse_unsupported(cursor, nsp: int, schema: str) -> None:
    cursor.execute(
        """
        SELECT kind || ' ' || name FROM (
            SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                                WHEN 'p' THEN 'partitioned table' WHEN 'c' THEN 'composite type'
                                ELSE 'relation of kind ' || relkind::text END AS kind, relname::text AS name
              FROM pg_class WHERE relnamespace = %(nsp)s AND relkind NOT IN ('r', 'S', 'i', 'p', 'I')
            UNION ALL SELECT 'table with row security', relname FROM pg_class
             WHERE relnamespace = %(nsp)s AND (relrowsecurity OR relforcerowsecurity)
            UNION ALL SELECT 'child table', c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE c.relnamespace = %(nsp)s AND NOT c.relispartition
            UNION ALL SELECT 'function', proname FROM pg_proc WHERE pronamespace = %(nsp)s
            UNION ALL SELECT 'type', t.typname FROM pg_type t WHERE t.typnamespace = %(nsp)s
               AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid)
               AND NOT EXISTS (SELECT 1 FROM pg_type e JOIN pg_class c ON c.oid = e.typrelid WHERE e.oid = t.typelem)
            UNION ALL SELECT 'collation', collname FROM pg_collation WHERE collnamespace = %(nsp)s
            UNION ALL SELECT 'operator', oprname FROM pg_operator WHERE oprnamespace = %(nsp)s
            UNION ALL SELECT 'rule', r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
             WHERE c.relnamespace = %(nsp)s
            UNION ALL SELECT 'policy', p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
             WHERE c.relnamespace = %(nsp)s
            UNION ALL SELECT 'extended statistics', stxname FROM pg_statistic_ext WHERE stxnamespace = %(nsp)s
            UNION ALL SELECT 'constraint trigger', t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal AND t.tgconstraint <> 0
        ) found ORDER BY 1
        """,
        {"nsp": nsp},
    )
    found = [row[0] for row in cursor.fetchall()]
    if found:
        raise Unsupported(f"schema {schema!r} holds what a provisioning script can't recreate: {', '.join(found)}")


class _Writer:
    """Reads one schema's catalog (search_path already set) and writes the script."""

    def __init__(self, cursor, nsp: int, schema: str):
        self.cursor = cursor
        self.nsp = nsp
        self.schema = schema
        self.statements: list[str] = []

    def fetch(self, sql: str, params=None) -> list[tuple]:
        self.cursor.execute(sql, {"nsp": self.nsp, **(params or {})})
        return self.cursor.fetchall()

    def script(self) -> Script:
        sequences = self.sequences()
        columns, always_identity = self.columns(sequences)
        tables = self.fetch(
            "SELECT oid, relname, relpersistence, reloptions, quote_literal(obj_description(oid, 'pg_class')), "
            "CASE WHEN relkind = 'p' THEN pg_get_partkeydef(oid) END "
            "FROM pg_class WHERE relnamespace = %(nsp)s AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY relname"
        )
        # Partitions: made as PARTITION OF their parent (columns, and the parent's indexes,
        # constraints and triggers, come from it), parents first.
        partitions = self.fetch(
            """
            SELECT c.oid, c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid)
              FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent
             WHERE c.relnamespace = %(nsp)s AND c.relispartition AND c.relkind IN ('r', 'p') ORDER BY c.relname
            """
        )
        for seq in sequences.values():
            if seq["identity_of"] is None:
                self.statements.append(f"CREATE SEQUENCE {quote_ident(seq['name'])} AS {seq['type']}{seq['options']}")
        for oid, name, persistence, options, comment, partition_key in tables:
            unlogged = "UNLOGGED " if persistence == "u" else ""
            body = ",\n    ".join(columns[oid])
            with_ = f" WITH ({', '.join(options)})" if options else ""
            by = f" PARTITION BY {partition_key}" if partition_key else ""
            self.statements.append(f"CREATE {unlogged}TABLE {quote_ident(name)} (\n    {body}\n){by}{with_}")
            if comment is not None:
                self.statements.append(f"COMMENT ON TABLE {quote_ident(name)} IS {comment}")
        for _oid, name, parent, bound in partitions:
            self.statements.append(f"CREATE TABLE {quote_ident(name)} PARTITION OF {quote_ident(parent)} {bound}")
        self.statements.extend(self.column_comments())
        for seq in sequences.values():
            if seq["owned_by"]:
                table, column = seq["owned_by"]
                self.statements.append(
                    f"ALTER SEQUENCE {quote_ident(seq['name'])} OWNED BY {quote_ident(table)}.{quote_ident(column)}")
        # Rows where they are stored: plain tables and partitions (a partitioned parent holds none:
        # reading it would read its partitions' rows a second time).
        for oid, name, *rest in tables:
            if rest[-1] is None:
                self.statements.extend(self.rows(oid, name, overriding=oid in always_identity))
        for oid, name, _parent, _bound in partitions:
            self.statements.extend(self.rows(oid, name, overriding=False))
        self.statements.extend(self.sequence_positions(sequences))
        self.statements.extend(self.constraints())
        self.statements.extend(self.indexes())
        self.statements.extend(self.triggers())
        referenced = tuple(name for (name,) in self.fetch(
            """
            SELECT DISTINCT quote_ident(n.nspname) || '.' || quote_ident(r.relname) FROM pg_constraint con
              JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
              JOIN pg_namespace n ON n.oid = r.relnamespace
             WHERE t.relnamespace = %(nsp)s AND con.contype = 'f' AND r.relnamespace <> %(nsp)s ORDER BY 1
            """
        ))
        return Script(sql=";\n".join(self.statements) + ";\n", statements=len(self.statements), referenced=referenced)

    def sequences(self) -> dict[int, dict]:
        """Every sequence: its definition and what owns it (an identity column, or OWNED BY)."""
        found = {}
        for oid, name, type_, start, inc, min_, max_, cache, cycle, dep_table, dep_column, deptype in self.fetch(
            """
            SELECT s.seqrelid, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
                   s.seqmax, s.seqcache, s.seqcycle, t.relname, a.attname, d.deptype
              FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
              LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
              LEFT JOIN pg_class t ON t.oid = d.refobjid
              LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE c.relnamespace = %(nsp)s ORDER BY c.relname
            """
        ):
            options = (f" START WITH {start} INCREMENT BY {inc} MINVALUE {min_} MAXVALUE {max_} CACHE {cache}"
                       f"{' CYCLE' if cycle else ' NO CYCLE'}")
            found[oid] = {
                "name": name, "type": type_, "options": options,
                "identity_of": (dep_table, dep_column) if deptype == "i" else None,
                "owned_by": (dep_table, dep_column) if deptype == "a" else None,
            }
        return found

    def columns(self, sequences: dict[int, dict]) -> tuple[dict[int, list[str]], set[int]]:
        identity = {seq["identity_of"]: seq for seq in sequences.values() if seq["identity_of"]}
        not_null_names = {
            (table, attnum): name for table, attnum, name in self.fetch(
                """
                SELECT con.conrelid, con.conkey[1], con.conname FROM pg_constraint con
                  JOIN pg_class c ON c.oid = con.conrelid
                 WHERE c.relnamespace = %(nsp)s AND con.contype = 'n'
                """
            )
        }
        columns: dict[int, list[str]] = defaultdict(list)
        always_identity: set[int] = set()
        for table_oid, table, attnum, name, type_, not_null, ident, generated, default, collation in self.fetch(
            """
            SELECT c.oid, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                        THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              LEFT JOIN pg_collation co ON co.oid = a.attcollation
              LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
             WHERE c.relnamespace = %(nsp)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY c.relname, a.attnum
            """
        ):
            parts = [quote_ident(name), type_]
            if collation:
                parts.append(f"COLLATE {collation}")
            if generated:
                kind = "STORED" if generated == "s" else "VIRTUAL"
                parts.append(f"GENERATED ALWAYS AS ({default}) {kind}")
            elif default is not None:
                parts.append(f"DEFAULT {default}")
            if not_null:
                named = not_null_names.get((table_oid, attnum))
                parts.append(f"CONSTRAINT {quote_ident(named)} NOT NULL" if named else "NOT NULL")
            if ident:
                seq = identity.get((table, name))
                if seq is None:
                    raise Unsupported(f"identity column {table}.{name} without its sequence")
                when = "ALWAYS" if ident == "a" else "BY DEFAULT"
                if ident == "a":
                    always_identity.add(table_oid)
                parts.append(f"GENERATED {when} AS IDENTITY (SEQUENCE NAME {quote_ident(seq['name'])}{seq['options']})")
            columns[table_oid].append(" ".join(parts))
        return columns, always_identity

    def column_comments(self) -> list[str]:
        return [
            f"COMMENT ON COLUMN {quote_ident(table)}.{quote_ident(column)} IS {comment}"
            for table, column, comment in self.fetch(
                """
                SELECT c.relname, a.attname, quote_literal(d.description) FROM pg_description d
                  JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
                 WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' AND d.objsubid > 0
                 ORDER BY c.relname, a.attnum
                """
            )
        ]

    def rows(self, table_oid: int, table: str, *, overriding: bool) -> list[str]:
        """One INSERT with every row of the table, its values as literals PostgreSQL reads back
        exactly (each type's own text form, as COPY uses)."""
        names = [name for (name,) in self.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = %(table)s AND attnum > 0 AND NOT attisdropped "
            "AND attgenerated = '' ORDER BY attnum", {"table": table_oid})]
        values = " || ', ' || ".join(f"quote_nullable({quote_ident(n)}::text)" for n in names)
        self.cursor.execute(
            f"SELECT string_agg('(' || {values} || ')', E',\\n' ORDER BY t::text) "
            f"FROM {quote_ident(self.schema)}.{quote_ident(table)} t"
        )
        rows = self.cursor.fetchone()[0]
        if rows is None:
            return []
        override = " OVERRIDING SYSTEM VALUE" if overriding else ""
        cols = ", ".join(quote_ident(n) for n in names)
        return [f"INSERT INTO {quote_ident(table)} ({cols}){override} VALUES\n{rows}"]

    def sequence_positions(self, sequences: dict[int, dict]) -> list[str]:
        if not sequences:
            return []
        self.cursor.execute(" UNION ALL ".join(
            f"SELECT {i}, last_value, is_called FROM {quote_ident(self.schema)}.{quote_ident(seq['name'])}"
            for i, seq in enumerate(sequences.values())
        ) + " ORDER BY 1")
        names = [seq["name"] for seq in sequences.values()]
        return [
            f"SELECT pg_catalog.setval({quote_literal(quote_ident(names[i]))}, {last}, {'true' if called else 'false'})"
            for i, last, called in self.cursor.fetchall()
        ]

    def constraints(self) -> list[str]:
        return [
            f"ALTER TABLE {quote_ident(table)} ADD CONSTRAINT {quote_ident(name)} {definition}"
            for table, name, definition in self.fetch(
                """
                SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con
                  JOIN pg_class c ON c.oid = con.conrelid
                 WHERE c.relnamespace = %(nsp)s AND con.contype NOT IN ('n', 't') AND con.conislocal
                 ORDER BY CASE con.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END,
                          c.relname, con.conname
                """
            )
        ]

    def indexes(self) -> list[str]:
        """Indexes of their own (those backing a key or exclusion constraint come with it)."""
        found = []
        for name, definition, qualified, table in self.fetch(
            """
            SELECT ic.relname, pg_get_indexdef(i.indexrelid), quote_ident(n.nspname) || '.' || quote_ident(t.relname),
                   quote_ident(t.relname)
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE t.relnamespace = %(nsp)s AND NOT ic.relispartition AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                      AND con.contype IN ('p', 'u', 'x'))
             ORDER BY ic.relname
            """
        ):
            # An index of a partitioned table reads "ON ONLY": made without ONLY, it is made on
            # every partition too, as the migration made it.
            definition = definition.replace(f" ON ONLY {qualified} USING ", f" ON {qualified} USING ", 1)
            found.append(_unqualify(definition, f" ON {qualified} USING ", f" ON {table} USING ", what=f"index {name}"))
        return found

    def triggers(self) -> list[str]:
        found = []
        for table, name, definition, enabled, qualified, unqualified in self.fetch(
            """
            SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled,
                   quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(c.relname)
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal AND t.tgparentid = 0 ORDER BY c.relname, t.tgname
            """
        ):
            found.append(_unqualify(definition, f" ON {qualified} ", f" ON {unqualified} ", what=f"trigger {name}"))
            state = {"D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}.get(enabled)
            if state:
                found.append(f"ALTER TABLE {quote_ident(table)} {state} TRIGGER {quote_ident(name)}")
        return found


def _unqualify(definition: str, qualified: str, unqualified: str, *, what: str) -> str:
    if qualified not in definition:
        raise Unsupported(f"{what}: unexpected definition {definition!r}")
    return definition.replace(qualified, unqualified, 1)
