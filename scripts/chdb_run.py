#!/usr/bin/env python3
"""Run cityops' ClickHouse migrations, seed rows and queries on a current ClickHouse engine,
in process, with chDB (PyPI `chdb`, installed by `make setup`).

The local stack runs ClickHouse 18.16 (Debian's); a city deploys a current release. This
script lets the tests (crates/store/tests/analytics.rs) and anyone at a shell check that the
schema and the analysts' queries also run on a current engine:

    python3 scripts/chdb_run.py --migrations schemas/clickhouse \\
        [--seed rows.ndjson] [--sql inserts.sql] \\
        [--queries queries.json] [--markdown docs/analytics.md]

1. creates the database (`--database`, default `cityops`) in a fresh chDB session (its files in
   a temporary directory, removed at exit) and makes it current;
2. applies every `NNN_name.sql` file of `--migrations` in version order, statement by
   statement, and records them in `schema_migrations` as the Rust runner does;
3. inserts the seed rows: `--seed` is NDJSON, one `{"table": "...", "row": {...}}` per line
   (the store's row types serialised with serde: `DateTime` columns as seconds, booleans as
   true/false); `--sql` is a file of SQL statements separated by `;` (e.g. INSERT ... VALUES);
4. runs the queries: `--queries` is a JSON array whose items are SQL strings or
   `{"name": "...", "sql": "..."}`; `--markdown` takes every ```sql block of a Markdown file.

It prints one JSON object per query on stdout:
    {"name": ..., "ok": true, "columns": [...], "types": [...], "rows": [[...], ...]}
64-bit integers are JSON numbers. On a failed migration or insert it stops at once; on a
failed query it prints {"name": ..., "ok": false, "error": ...} and goes on with the next.
Either way each failure is also written to stderr with the failing SQL, and the exit status
is 1 (2 for bad arguments or a missing chdb).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile

MIGRATION_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SQL_BLOCK = re.compile(r"^```sql[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

CREATE_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY version"""


class Failure(Exception):
    """A statement that failed: where, which SQL, and the engine's message."""

    def __init__(self, where, sql, error):
        super().__init__(f"{where}: {error}")
        self.where = where
        self.sql = sql
        self.error = error


def split_statements(sql):
    """Splits SQL text at `;`, ignoring `;` in strings, quoted identifiers and comments (the
    same rules as cityops_store::migrate::split_statements). Statements that are only
    comments or whitespace are dropped."""
    statements = []
    state = "code"
    quote = None
    start = end = None
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if state == "code":
            if c == ";":
                if start is not None:
                    statements.append(sql[start:end])
                start = end = None
            elif c == "-" and nxt == "-":
                state = "line"
                i += 1
            elif c == "/" and nxt == "*":
                state = "block"
                i += 1
            elif c.isspace():
                pass
            else:
                if start is None:
                    start = i
                end = i + 1
                if c in "'\"`":
                    state, quote = "quoted", c
        elif state == "quoted":
            if c == "\\":
                i += 1
            elif c == quote:
                if nxt == quote:
                    i += 1
                else:
                    state = "code"
            end = min(i + 1, n)
        elif state == "line":
            if c == "\n":
                state = "code"
        elif state == "block":
            if c == "*" and nxt == "/":
                state = "code"
                i += 1
        i += 1
    if start is not None:
        statements.append(sql[start:end])
    return statements


def migrations(directory):
    """The NNN_name.sql files of `directory`, in version order."""
    found = []
    for file in os.listdir(directory):
        if not file.endswith(".sql"):
            continue
        m = MIGRATION_NAME.match(file)
        if not m:
            raise SystemExit(f"chdb_run: migration file {file!r} is not named NNN_name.sql")
        found.append((int(m.group(1)), file))
    found.sort()
    versions = [v for v, _ in found]
    if len(versions) != len(set(versions)):
        raise SystemExit(f"chdb_run: two migration files share a version in {directory}")
    return found


def sql_blocks(markdown_path):
    """Every ```sql block of a Markdown file, named `<file>#<n>` (1-based)."""
    with open(markdown_path, encoding="utf-8") as f:
        text = f.read()
    name = os.path.basename(markdown_path)
    return [
        {"name": f"{name}#{n}", "sql": block.strip()}
        for n, block in enumerate(SQL_BLOCK.findall(text), start=1)
    ]


def load_queries(path):
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    if not isinstance(items, list):
        raise SystemExit(f"chdb_run: {path} must hold a JSON array of queries")
    queries = []
    for n, item in enumerate(items, start=1):
        if isinstance(item, str):
            queries.append({"name": f"query#{n}", "sql": item})
        elif isinstance(item, dict) and isinstance(item.get("sql"), str):
            queries.append({"name": str(item.get("name", f"query#{n}")), "sql": item["sql"]})
        else:
            raise SystemExit(f"chdb_run: item {n} of {path} is neither SQL nor {{name, sql}}")
    return queries


def seed_batches(path):
    """Rows of an NDJSON seed file, grouped into consecutive runs of one table."""
    batches = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
                table, row = item["table"], item["row"]
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"chdb_run: {path}:{number}: not a {{table, row}} object: {e}")
            if not IDENTIFIER.match(table):
                raise SystemExit(f"chdb_run: {path}:{number}: bad table name {table!r}")
            if batches and batches[-1][0] == table:
                batches[-1][1].append(row)
            else:
                batches.append((table, [row]))
    return batches


class Engine:
    def __init__(self, database):
        from chdb import session  # imported here so that a missing chdb is reported clearly

        self.dir = tempfile.mkdtemp(prefix="cityops_chdb_")
        self.session = session.Session(self.dir)
        self.run(f"CREATE DATABASE IF NOT EXISTS `{database}`", "create database")
        self.run(f"USE `{database}`", "use database")
        # Numbers as numbers, not strings, so results compare with other engines' as values.
        self.run("SET output_format_json_quote_64bit_integers = 0", "settings")

    def run(self, sql, where, fmt="JSONCompact"):
        try:
            result = self.session.query(sql, fmt)
        except Exception as e:  # chdb raises its own error types; keep the message
            raise Failure(where, sql, str(e).strip()) from None
        error = getattr(result, "error_message", None)
        if callable(error):
            error = error()
        if error:
            raise Failure(where, sql, str(error).strip())
        return result.bytes().decode("utf-8") if hasattr(result, "bytes") else str(result)

    def close(self):
        try:
            self.session.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def report_failure(failure):
    print(
        f"chdb_run: FAILED {failure.where}\n--- SQL ---\n{failure.sql}\n--- error ---\n"
        f"{failure.error}",
        file=sys.stderr,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrations", required=True, help="directory of NNN_name.sql files")
    parser.add_argument("--database", default="cityops")
    parser.add_argument("--seed", action="append", default=[], help="NDJSON {table, row} file")
    parser.add_argument("--sql", action="append", default=[], help="file of SQL statements")
    parser.add_argument("--queries", action="append", default=[], help="JSON array of queries")
    parser.add_argument("--markdown", action="append", default=[], help="Markdown: ```sql blocks")
    args = parser.parse_args()
    if not IDENTIFIER.match(args.database):
        parser.error(f"--database {args.database!r} is not a plain identifier")

    try:
        import chdb
    except ImportError as e:
        print(
            f"chdb_run: the Python package chdb is not installed ({e}). Run `make setup` "
            "(it installs the pinned chdb with pip).",
            file=sys.stderr,
        )
        return 2

    queries = []
    for path in args.queries:
        queries.extend(load_queries(path))
    for path in args.markdown:
        queries.extend(sql_blocks(path))
    files = migrations(args.migrations)
    seeds = [batch for path in args.seed for batch in seed_batches(path)]

    engine = Engine(args.database)
    failed = False
    try:
        engine.run(CREATE_MIGRATIONS_TABLE, "schema_migrations")
        for version, file in files:
            with open(os.path.join(args.migrations, file), encoding="utf-8") as f:
                text = f.read()
            statements = split_statements(text)
            for number, statement in enumerate(statements, start=1):
                engine.run(statement, f"migration {file}, statement {number}")
            stem = file[: -len(".sql")].split("_", 1)[1]
            engine.run(
                "INSERT INTO schema_migrations VALUES "
                f"({version}, '{stem}', '', toDateTime(0, 'UTC'))",
                f"recording {file}",
            )
        for table, rows in seeds:
            body = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
            engine.run(f"INSERT INTO `{table}` FORMAT JSONEachRow\n{body}", f"seed {table}")
        for path in args.sql:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for number, statement in enumerate(split_statements(text), start=1):
                engine.run(statement, f"{path}, statement {number}")

        for query in queries:
            try:
                text = engine.run(query["sql"], f"query {query['name']}")
                out = json.loads(text) if text.strip() else {}
            except Failure as failure:
                report_failure(failure)
                failed = True
                result = {"name": query["name"], "ok": False, "error": failure.error}
            else:
                result = {
                    "name": query["name"],
                    "ok": True,
                    "columns": [c["name"] for c in out.get("meta", [])],
                    "types": [c["type"] for c in out.get("meta", [])],
                    "rows": out.get("data", []),
                }
            print(json.dumps(result, ensure_ascii=False), flush=True)
    except Failure as failure:
        report_failure(failure)
        return 1
    finally:
        engine.close()
    print(
        f"chdb_run: chdb {getattr(chdb, '__version__', '?')}: {len(files)} migrations, "
        f"{sum(len(rows) for _, rows in seeds)} seed rows, {len(queries)} queries"
        + (", some FAILED" if failed else ", all ok"),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
