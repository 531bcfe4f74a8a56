"""Fast inserts of many rows, for imports of tens of thousands of lines."""

import csv
import io
from collections.abc import Sequence

from django.db import connection, models


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    use_copy=None,
    nullable: Sequence[str] = (),
) -> list[int]:
    """Insert `rows` (values for `columns`, by attname: "profil_id") and return their ids,
    in order.

    On PostgreSQL the ids are drawn from the table's sequence and the rows sent with COPY:
    for a REM of 5,000 requirements this is ten times faster than building and saving
    35,000 model instances. Elsewhere (SQLite), the ORM's bulk_create does the work.
    No value may be None except in the `nullable` columns (COPY reads their empty value as
    NULL: not for text), and model defaults are not applied: give every column.
    """
    if not rows:
        return []
    if use_copy is None:
        use_copy = connection.vendor == "postgresql"
    if not use_copy:
        objects = model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000
        )
        return [obj.pk for obj in objects]
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        buffer = io.StringIO()
        # Every field quoted: COPY reads only an unquoted empty field as NULL.
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for pk, row in zip(ids, rows, strict=True):
            writer.writerow((pk, *row))
        buffer.seek(0)
        column_list = ", ".join(quote(name) for name in ["id", *columns])
        options = "FORMAT csv"
        if nullable:
            options += f", FORCE_NULL ({', '.join(quote(name) for name in nullable)})"
        # copy_expert is psycopg2's own: translate its errors into Django's as execute does.
        with connection.wrap_database_errors:
            cursor.copy_expert(
                f"COPY {quote(table)} ({column_list}) FROM STDIN WITH ({options})", buffer
            )
    return ids
