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
which halves what the editors' dashboard's facts cost it. The constants of the query
are written into the prepared statement, so that its plan uses the partial indexes
they select. The connections plan prepared
statements once for all values (plan_cache_mode, settings.py); nothing else is prepared.
A new connection (after CONN_MAX_AGE, a restart of the server) prepares again.

Only integer and string parameters can be sentinels (an id, a key): the ORM passes them
to the database as they are, so they are found again among the compiled parameters.
"""

import itertools
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

_NAMES = itertools.count(1)


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
        slots = [(names[param], None) if param in names else ("", param) for param in params]
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
        connection = connections[alias]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                self._prepare(connection, cursor, sql, slots)
                params = [values[name] for name, _constant in slots if name]
                sql = f"EXECUTE {self._name}({', '.join(['%s'] * len(params))})"
            else:
                params = [values[name] if name else constant for name, constant in slots]
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [self._converted(row, converters, connection) for row in rows]
        return rows, compiled

    def _prepare(self, connection, cursor, sql: str, slots: list) -> None:
        """Prepare the statement if this connection has not yet (the set of prepared
        names goes with the driver's connection). Its constants are written in it as
        literals, quoted by the driver: a generic plan then uses the partial indexes
        they select (the open sollicitations, say); the sentinels become $1, $2…"""
        prepared = connection.__dict__.get("segur_prepared")
        if prepared is None or prepared[0] is not connection.connection:
            prepared = connection.segur_prepared = (connection.connection, set())
        if self._name in prepared[1]:
            return
        from psycopg2.extensions import AsIs

        numbers = itertools.count(1)
        text = cursor.cursor.mogrify(
            sql,
            [AsIs(f"${next(numbers)}") if name else constant for name, constant in slots],
        ).decode()
        # Through the driver's own cursor, as Django sets up a connection (its time
        # zone, say): part of the connection, not of the request that happens to come
        # first, so not among the queries a request is counted.
        cursor.cursor.execute(f"PREPARE {self._name} AS {text}")
        prepared[1].add(self._name)

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
