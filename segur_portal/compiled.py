"""Queries compiled once per process, for the statements every request runs.

Django's ORM builds a statement's SQL anew at each call: about 250 µs of CPU for even a
primary-key lookup, more than the database takes to answer it, and it shows on the
requests that do little else (the session and the account of every signed-in page).
A `CompiledQuery` builds its queryset once per database, with sentinel values standing
for its parameters, keeps the SQL and where each sentinel went, and at each call runs
that SQL with the call's values in their place. The rows come back as the ORM gives
them: the database's converters (SQLite's dates and booleans, say) applied.

On PostgreSQL the statement is also prepared, once per connection (PREPARE, then
EXECUTE with the values): the server parses and plans it once, not at each request,
which halves what the editors' dashboard's facts cost it. The connections plan prepared
statements once for all values (plan_cache_mode, settings.py); nothing else is prepared.
A new connection (after CONN_MAX_AGE, a restart of the server) prepares again.

Only integer and string parameters can be sentinels (an id, a key): the ORM passes them
to the database as they are, so they are found again among the compiled parameters.
"""

import itertools
import re
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

_NAMES = itertools.count(1)
# Django's placeholders, and its escaped percent sign, outside the parameters.
_PLACEHOLDER = re.compile(r"%([s%])")


def _numbered(sql: str) -> str:
    """Django's SQL with its %s as PostgreSQL's $1, $2…, for PREPARE."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m.group(1) == "s" else "%", sql)


class CompiledQuery:
    """`build(**sentinels)` gives the queryset; `rows(**values)` runs its SQL with each
    sentinel replaced by the value of the same name; `dicts(**values)` names the
    columns; `instances(**values)` gives model instances, for a queryset of whole rows
    of one model (no values(), no join)."""

    def __init__(self, build: Callable[..., QuerySet], **sentinels: int | str):
        self._build = build
        self._sentinels = sentinels
        self._compiled: dict[str, tuple] = {}
        self._name = f"segur_compiled_{next(_NAMES)}"

    def _compile(self, alias: str) -> tuple:
        queryset = self._build(**self._sentinels)
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        names = {value: name for name, value in self._sentinels.items()}
        slots = [(names[param], None) if param in names else (None, param) for param in params]
        missing = set(self._sentinels) - {name for name, _constant in slots}
        if missing:
            raise ValueError(f"sentinelles absentes de la requête compilée : {sorted(missing)}")
        columns = [column for column, _sql, _alias in compiler.select]
        converters = list(compiler.get_converters(columns).items())
        fields = [getattr(column, "target", None) for column in columns]
        names = [
            label or field.attname
            for (_column, _sql, label), field in zip(compiler.select, fields, strict=True)
        ]
        compiled = (sql, slots, converters, queryset.model, fields, names)
        self._compiled[alias] = compiled
        return compiled

    def _run(self, alias: str, values: dict) -> tuple[list, tuple]:
        compiled = self._compiled.get(alias) or self._compile(alias)
        sql, slots, converters = compiled[:3]
        params = [values[name] if name is not None else constant for name, constant in slots]
        connection = connections[alias]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql = self._prepared(connection, cursor, sql, len(params))
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [self._converted(row, converters, connection) for row in rows]
        return rows, compiled

    def _prepared(self, connection, cursor, sql: str, count: int) -> str:
        """The EXECUTE of this statement, prepared first if this connection has not
        prepared it yet (the set of prepared names goes with the driver's connection)."""
        prepared = connection.__dict__.get("segur_prepared")
        if prepared is None or prepared[0] is not connection.connection:
            prepared = connection.segur_prepared = (connection.connection, set())
        if self._name not in prepared[1]:
            # Through the driver's own cursor, as Django sets up a connection (its time
            # zone, say): part of the connection, not of the request that happens to
            # come first, so not among the queries a request is counted.
            cursor.cursor.execute(f"PREPARE {self._name} AS {_numbered(sql)}")
            prepared[1].add(self._name)
        return (
            f"EXECUTE {self._name}({', '.join(['%s'] * count)})"
            if count
            else f"EXECUTE {self._name}"
        )

    @staticmethod
    def _converted(row: tuple, converters: list, connection) -> tuple:
        row = list(row)
        for position, (functions, expression) in converters:
            for function in functions:
                row[position] = function(row[position], expression, connection)
        return tuple(row)

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        return self._run(using, values)[0]

    def dicts(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list[dict]:
        """The rows as dicts, by column or annotation name (a values() queryset's)."""
        rows, compiled = self._run(using, values)
        return [dict(zip(compiled[5], row, strict=True)) for row in rows]

    def instances(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        rows, (_sql, _slots, _converters, model, fields, _names) = self._run(using, values)
        attnames = [field.attname for field in fields]
        return [model.from_db(using, attnames, row) for row in rows]
