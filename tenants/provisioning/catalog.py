"""What a schema is made of, as PostgreSQL's catalog says, named so two schemas compare.

`describe(schema)` lists every relation (tables, sequences, indexes, and whatever else
would be there: views, types...), every column with its type, default, NOT NULL, identity,
generation and collation, every constraint and trigger with its definition, every index with
its definition, each sequence's parameters and position, the functions and types the schema
holds, and its rows (django_migrations as (app, name): when a migration ran is not part of
what a schema is). Definitions are read with the schema first on the search_path, so they
don't name it, and the one name PostgreSQL always qualifies (an index's or trigger's table)
is cut back: two schemas built alike describe alike, whatever their names.

provisioning.snapshot checks a new script against its template with this, once per
migration state; the tests compare a provisioned workspace with one migrated from scratch.
"""

from django.db import transaction

from core.db import connection
from tenants.provisioning.ddl import quote_ident, search_path

# Columns of a row that differ between two schemas built alike (when it happened).
_UNCOMPARED_COLUMNS = {"django_migrations": {"id", "applied"}}


def describe(schema: str) -> dict:
    """Raises LookupError when the schema does not exist."""
    with transaction.atomic(), connection().cursor() as cursor:
        # quote_ident: the schema's name as the deparsers write it (quoted only when it must be).
        cursor.execute("SELECT oid, quote_ident(nspname) FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no schema {schema!r}")
        nsp, qualified = row
        with search_path(cursor, schema, "public"):
            return _Describer(cursor, nsp, schema, qualified).describe()


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between two descriptions (empty when they agree)."""
    found = []
    for part in sorted(set(expected) | set(actual)):
        want, got = expected.get(part, {}), actual.get(part, {})
        for key in sorted(set(want) | set(got), key=repr):
            if key not in got:
                found.append(f"{part}: {key!r} missing")
            elif key not in want:
                found.append(f"{part}: {key!r} unexpected")
            elif want[key] != got[key]:
                found.append(f"{part}: {key!r} is {got[key]!r}, expected {want[key]!r}")
    return found


class _Describer:
    def __init__(self, cursor, nsp: int, schema: str, qualified: str):
        self.cursor = cursor
        self.nsp = nsp
        self.schema = schema
        self.prefix = qualified + "."

    def fetch(self, sql: str) -> list[tuple]:
        self.cursor.execute(sql, {"nsp": self.nsp})
        return self.cursor.fetchall()

    def unqualify(self, definition: str) -> str:
        return definition.replace(" ON " + self.prefix, " ON ").replace(" ON ONLY " + self.prefix, " ON ONLY ")

    def describe(self) -> dict:
        relations = {
            name: (kind, persistence, tuple(options or ()), comment)
            for name, kind, persistence, options, comment in self.fetch(
                "SELECT relname, relkind::text, relpersistence::text, reloptions, obj_description(oid, 'pg_class') "
                "FROM pg_class WHERE relnamespace = %(nsp)s"
            )
        }
        columns = {
            (table, position, name): (type_, not_null, identity, generated, default, collation, comment)
            for table, position, name, type_, not_null, identity, generated, default, collation, comment in self.fetch(
                """
                SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                       format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity::text, a.attgenerated::text,
                       pg_get_expr(d.adbin, d.adrelid), co.collname, col_description(c.oid, a.attnum)
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  LEFT JOIN pg_collation co ON co.oid = a.attcollation
                 WHERE c.relnamespace = %(nsp)s AND a.attnum > 0 AND NOT a.attisdropped
                """
            )
        }
        constraints = {
            (table, name): (kind, definition, deferrable, deferred, validated)
            for table, name, kind, definition, deferrable, deferred, validated in self.fetch(
                """
                SELECT c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid),
                       con.condeferrable, con.condeferred, con.convalidated
                  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE c.relnamespace = %(nsp)s
                """
            )
        }
        indexes = {
            name: (table, self.unqualify(definition), primary, unique)
            for name, table, definition, primary, unique in self.fetch(
                """
                SELECT ic.relname, t.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique
                  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
                 WHERE t.relnamespace = %(nsp)s
                """
            )
        }
        triggers = {
            (table, name): (self.unqualify(definition), enabled)
            for table, name, definition, enabled in self.fetch(
                """
                SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text
                  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 WHERE c.relnamespace = %(nsp)s AND NOT t.tgisinternal
                """
            )
        }
        sequences = {
            name: (type_, start, increment, minimum, maximum, cache, cycle, owner)
            for name, type_, start, increment, minimum, maximum, cache, cycle, owner in self.fetch(
                """
                SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                       s.seqcache, s.seqcycle, t.relname || '.' || a.attname || ' (' || d.deptype::text || ')'
                  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
                  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                  LEFT JOIN pg_class t ON t.oid = d.refobjid
                  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE c.relnamespace = %(nsp)s
                """
            )
        }
        others = {
            (kind, name): True for kind, name in self.fetch(
                """
                SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                  FROM pg_proc p WHERE p.pronamespace = %(nsp)s
                UNION ALL SELECT 'type', typname FROM pg_type WHERE typnamespace = %(nsp)s
                """
            )
        }
        return {
            "relations": relations,
            "columns": columns,
            "constraints": constraints,
            "indexes": indexes,
            "triggers": triggers,
            "sequences": sequences,
            "sequence positions": self.sequence_positions(list(sequences)),
            "other objects": others,
            "rows": self.rows([name for name, (kind, *_) in relations.items() if kind == "r"]),
        }

    def sequence_positions(self, names: list[str]) -> dict:
        if not names:
            return {}
        self.cursor.execute(" UNION ALL ".join(
            f"SELECT {i}, last_value, is_called FROM {quote_ident(self.schema)}.{quote_ident(name)}"
            for i, name in enumerate(names)
        ))
        return {names[i]: (last, called) for i, last, called in self.cursor.fetchall()}

    def rows(self, tables: list[str]) -> dict:
        found = {}
        for table in tables:
            self.cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", [f"{quote_ident(self.schema)}.{quote_ident(table)}"])
            names = [n for (n,) in self.cursor.fetchall() if n not in _UNCOMPARED_COLUMNS.get(table, ())]
            cols = ", ".join(f"{quote_ident(n)}::text" for n in names)
            self.cursor.execute(f"SELECT {cols} FROM {quote_ident(self.schema)}.{quote_ident(table)}")
            found[table] = sorted(self.cursor.fetchall(), key=repr)
        return found
