"""A stable, server-version-independent text description of the Huntsman schema.

Used by `huntsman db snapshot` to write `db/sql/schema.snapshot.txt` and by the tests that check a
fresh install, an upgraded install and the committed snapshot all describe the same schema.
It reads the catalogs rather than `pg_dump` output, so PostgreSQL 15 and 18 produce the same text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from huntsman.migrations import SQL_DIR

SNAPSHOT_PATH = SQL_DIR / "schema.snapshot.txt"

_SCHEMA_FILTER = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%'
"""

_QUERIES: list[tuple[str, str]] = [
    (
        "schema",
        f"""SELECT n.nspname FROM pg_namespace n WHERE {_SCHEMA_FILTER}
            AND n.nspname <> 'public' ORDER BY 1""",
    ),
    (
        "type",
        f"""SELECT n.nspname || '.' || t.typname || ' ' || t.typtype::text || ' ' ||
                   coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                             FROM pg_enum e WHERE e.enumtypid = t.oid), '')
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE {_SCHEMA_FILTER} AND t.typtype IN ('e', 'd')
            ORDER BY 1""",
    ),
    (
        "relation",
        f"""SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_SCHEMA_FILTER} AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
            ORDER BY 1""",
    ),
    (
        "column",
        f"""SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' ' ||
                   format_type(a.atttypid, a.atttypmod) ||
                   CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
                   CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END ||
                   CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END ||
                   coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE {_SCHEMA_FILTER} AND c.relkind IN ('r', 'v', 'm', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY n.nspname, c.relname, a.attnum""",
    ),
    (
        "constraint",
        f"""SELECT n.nspname || '.' || c.relname || ' ' || k.conname || ' ' || k.contype::text || ' ' ||
                   pg_get_constraintdef(k.oid)
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_SCHEMA_FILTER} AND k.contype IN ('p', 'u', 'f', 'c', 'x', 't')
            ORDER BY 1""",
    ),
    (
        "index",
        f"""SELECT pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_SCHEMA_FILTER}
            ORDER BY 1""",
    ),
    (
        "trigger",
        f"""SELECT n.nspname || '.' || c.relname || ' ' || t.tgname || ' ' ||
                   pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_SCHEMA_FILTER} AND NOT t.tgisinternal
            ORDER BY 1""",
    ),
    (
        "function",
        f"""SELECT n.nspname || '.' || p.proname || '(' ||
                   pg_get_function_identity_arguments(p.oid) || ') returns ' ||
                   pg_get_function_result(p.oid) || ' ' || p.provolatile::text ||
                   CASE WHEN p.prosecdef THEN ' definer' ELSE '' END || ' ' ||
                   coalesce(array_to_string(p.proconfig, ';'), '') || ' md5=' || md5(p.prosrc)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE {_SCHEMA_FILTER}
            ORDER BY 1""",
    ),
    (
        "grant",
        f"""SELECT n.nspname || '.' || c.relname || ' ' || g.grantee || ' ' || g.privilege_type
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL (
                SELECT r.rolname AS grantee, a.privilege_type
                FROM aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
                WHERE r.rolname LIKE 'huntsman%%' AND a.grantee <> c.relowner
            ) g
            WHERE {_SCHEMA_FILTER}
            ORDER BY 1""",
    ),
    (
        "function grant",
        f"""SELECT n.nspname || '.' || p.proname || '(' ||
                   pg_get_function_identity_arguments(p.oid) || ') ' ||
                   coalesce(r.rolname, 'PUBLIC') || ' ' || a.privilege_type
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
            LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE {_SCHEMA_FILTER} AND (a.grantee = 0 OR r.rolname LIKE 'huntsman%%')
              AND a.grantee <> p.proowner
            ORDER BY 1""",
    ),
    (
        # who owns what (the owner's own privileges are implicit, so the grant sections skip them;
        # they differ between server versions, e.g. MAINTAIN since PostgreSQL 17)
        "owner",
        f"""SELECT DISTINCT n.nspname || ' ' || o.kind || ' ' || o.owner::regrole::text
            FROM (SELECT c.relnamespace AS nsp, 'relation' AS kind, c.relowner AS owner
                    FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  UNION ALL
                  SELECT p.pronamespace, 'function', p.proowner FROM pg_proc p
                  UNION ALL
                  SELECT t.typnamespace, 'type', t.typowner FROM pg_type t
                   WHERE t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND t.typrelid IN (
                         SELECT c.oid FROM pg_class c WHERE c.relkind = 'c'))) o
            JOIN pg_namespace n ON n.oid = o.nsp
            WHERE {_SCHEMA_FILTER} AND n.nspname NOT IN ('public', 'huntsman_meta')
            ORDER BY 1""",
    ),
]


def describe(conninfo: str) -> str:
    """Return the schema description as text (one line per object, sections in a fixed order)."""
    lines: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for section, query in _QUERIES:
            for (row,) in conn.execute(query):
                lines.append(f"{section}: {row}")
    return "\n".join(lines) + "\n"


def fingerprint(conninfo: str) -> str:
    return hashlib.sha256(describe(conninfo).encode()).hexdigest()


def write_snapshot(conninfo: str, path: Path = SNAPSHOT_PATH) -> Path:
    path.write_text(describe(conninfo), encoding="utf-8")
    return path
