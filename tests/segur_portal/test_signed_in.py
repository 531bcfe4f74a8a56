"""What every signed-in request reads (segur_portal/signed_in.py): the session and its
account in one statement compiled once (segur_portal/compiled.py), prepared on
PostgreSQL, with Django's rules unchanged."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.db.models.sql.compiler import SQLCompiler
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from segur_portal import signed_in
from segur_portal.compiled import CompiledQuery
from segur_portal.journal import journal_append
from segur_portal.models import JournalEntry, Notification, Session, User
from segur_portal.signed_in import ModelBackend, SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BADGE = reverse("notification_badge")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _is_signed_in(client) -> bool:
    response = client.get(BADGE)
    # LoginRequiredMiddleware sends a visitor to the sign-in page.
    return response.status_code == 200


def test_the_settings_name_these_lookups():
    assert settings.SESSION_ENGINE == "segur_portal.signed_in"
    assert "segur_portal.signed_in.ModelBackend" in settings.AUTHENTICATION_BACKENDS
    assert "django.contrib.auth.backends.ModelBackend" not in settings.AUTHENTICATION_BACKENDS


def test_a_signed_in_request_reads_its_session_and_account_in_one_query():
    user = UserFactory()
    client = _signed_in(user)
    assert _is_signed_in(client)
    with CaptureQueriesContext(connection) as queries:
        assert _is_signed_in(client)
    # The session with its account, then the badge's count.
    assert len(queries) == 2
    if connection.vendor == "postgresql":
        assert queries[0]["sql"].startswith(f"EXECUTE {SessionStore._lookup._name}(")
    else:
        assert '"segur_portal_session"' in queries[0]["sql"]
        assert '"segur_portal_user"' in queries[0]["sql"]


def test_the_session_row_holds_the_account_signed_in_to_it():
    user = UserFactory()
    client = Client()
    # A visitor's session (a message kept before signing in) has no account.
    store = SessionStore()
    store["note"] = "avant"
    store.create()
    assert Session.objects.get(session_key=store.session_key).account_id is None
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.get(session_key=key).account_id == user.pk
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()


def test_deleting_an_account_ends_its_sessions():
    user = UserFactory()
    client = _signed_in(user)
    other = _signed_in(UserFactory())
    User.objects.filter(pk=user.pk).delete()
    assert not Session.objects.filter(account_id=user.pk).exists()
    assert not _is_signed_in(client)
    assert _is_signed_in(other)


def test_the_account_read_with_the_session_serves_only_the_same_account_once():
    """A session row naming another account than its data (written behind the portal's
    back) is not trusted: the account the data names is read on its own. And the account
    read with a session serves the request that read it, not a later one."""
    user, other = UserFactory(), UserFactory()
    client = _signed_in(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(account=other)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == user.pk
    # Read with the session, then the account deactivated: a new request reads it again.
    SessionStore(key).load()
    assert signed_in._read_with_session.get().pk == other.pk
    User.objects.filter(pk=other.pk).update(is_active=False)
    Client().get(reverse("login"))  # another request, no session: it starts empty
    assert signed_in._read_with_session.get() is None
    assert ModelBackend().get_user(other.pk) is None
    # Taken once: a second lookup in the same request reads the account afresh.
    Session.objects.filter(session_key=key).update(account=user)
    SessionStore(key).load()
    assert ModelBackend().get_user(user.pk).pk == user.pk
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert ModelBackend().get_user(user.pk) is None


def test_a_signed_in_request_compiles_no_sql_for_its_session_and_account(monkeypatch):
    """The ORM compiles only what the view itself asks for: the badge's count."""
    client = _signed_in(UserFactory())
    assert _is_signed_in(client)
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counted(compiler, *args, **kwargs):
        compiled.append(compiler.query.model)
        return as_sql(compiler, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    with CaptureQueriesContext(connection) as queries:
        assert _is_signed_in(client)
    assert len(queries) == 2
    assert compiled == [Notification]


def test_the_account_read_is_the_orms():
    user = UserFactory(email_verified_at=timezone.now())
    found = ModelBackend().get_user(user.pk)
    expected = User.objects.get(pk=user.pk)
    assert type(found) is User and found.pk == user.pk
    assert model_to_dict(found) == model_to_dict(expected)
    assert found.email_verified_at == expected.email_verified_at
    assert found._state.adding is False and found._state.db == "default"


@pytest.mark.parametrize("user_id", [-1, 0, 10**12, "abc", "1; DROP TABLE x"])
def test_an_unknown_or_malformed_account_id_is_no_account(user_id):
    UserFactory()
    assert ModelBackend().get_user(user_id) is None


def test_an_inactive_account_is_signed_out():
    user = UserFactory()
    client = _signed_in(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert not _is_signed_in(client)


def test_a_deleted_account_is_signed_out():
    user = UserFactory()
    client = _signed_in(user)
    assert _is_signed_in(client)
    User.objects.filter(pk=user.pk).delete()
    assert not _is_signed_in(client)
    assert ModelBackend().get_user(user.pk) is None


def test_a_password_changed_elsewhere_signs_the_other_sessions_out():
    user = UserFactory()
    client = _signed_in(user)
    assert _is_signed_in(client)
    user.set_password("un-tout-autre-mot-de-passe-2026")
    user.save(update_fields=["password"])
    assert not _is_signed_in(client)


def test_an_expired_session_is_no_session():
    client = _signed_in(UserFactory())
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert not _is_signed_in(client)
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None


@pytest.mark.parametrize(
    "key",
    ["k" * 32, "", "x", "'; DELETE FROM segur_portal_session; --", "é" * 40, "a" * 5000],
)
def test_a_forged_session_key_is_no_session(key):
    other = _signed_in(UserFactory())
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not _is_signed_in(client)
    # Nothing else was touched.
    assert _is_signed_in(other)


def test_a_session_replayed_after_signing_out_is_no_session():
    client = _signed_in(UserFactory())
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not _is_signed_in(replay)
    assert not Session.objects.filter(session_key=key).exists()


def test_a_session_still_saves_and_reads_back():
    store = SessionStore()
    store["clé"] = "valeur"
    store.create()
    again = SessionStore(store.session_key)
    assert again["clé"] == "valeur"
    assert again.get_expiry_date() > timezone.now()


# The compiled statements themselves.


def test_a_compiled_query_runs_its_sql_with_each_calls_values():
    users = UserFactory.create_batch(3)
    query = CompiledQuery(
        lambda pk, email: User.objects.filter(pk=pk, email=email).values_list("pk", "email"),
        pk=-1,
        email="__sentinelle__",
    )
    for user in users:
        assert query.rows(pk=user.pk, email=user.email) == [(user.pk, user.email)]
    assert query.rows(pk=users[0].pk, email=users[1].email) == []


def test_a_compiled_query_applies_the_database_converters():
    """A JSON field is turned back into Python by a converter, on PostgreSQL too."""
    entries = [
        journal_append(kind=kind, data={"n": n, "texte": 'é"<>', "liste": [n, None]})
        for n, kind in enumerate(["test.a", "test.b", "test.c"])
    ]
    query = CompiledQuery(
        lambda pk: JournalEntry.objects.filter(pk=pk).values_list("data", "at"), pk=-1
    )
    for entry in entries:
        assert query.rows(pk=entry.pk) == [(entry.data, entry.at)]
    (found,) = CompiledQuery(lambda pk: JournalEntry.objects.filter(pk=pk), pk=-1).instances(
        pk=entries[0].pk
    )
    assert found.data == entries[0].data and isinstance(found.data, dict)


def test_a_sentinel_the_query_does_not_hold_is_refused():
    query = CompiledQuery(lambda pk: User.objects.filter(pk=1), pk=-1)
    with pytest.raises(ValueError, match="sentinelles absentes"):
        query.rows(pk=5)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PREPARE est celui de PostgreSQL"
)


@postgresql_only
def test_on_postgresql_the_statement_is_prepared_once_per_connection():
    users = UserFactory.create_batch(2)
    query = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list("email"), pk=-1)
    with CaptureQueriesContext(connection) as queries:
        assert query.rows(pk=users[0].pk) == [(users[0].email,)]
        assert query.rows(pk=users[1].pk) == [(users[1].email,)]
    # Preparing is part of the connection, not counted among the queries.
    sent = [q["sql"] for q in queries]
    assert [sql.split()[0] for sql in sent] == ["EXECUTE", "EXECUTE"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [query._name])
        assert cursor.fetchone() == (1,)
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


@postgresql_only
def test_a_new_connection_prepares_again():
    user = UserFactory()
    query = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list("email"), pk=-1)
    assert query.rows(pk=user.pk) == [(user.email,)]
    # What a reconnection leaves: the server forgot the statement.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.segur_prepared = (object(), connection.segur_prepared[1])
    assert query.rows(pk=user.pk) == [(user.email,)]


def test_a_compiled_query_keeps_the_percent_signs_of_its_sql():
    """A pattern built from a column is written '%%' || … || '%%' in Django's SQL."""
    user = UserFactory(first_name="Jean", last_name="Dupont")
    query = CompiledQuery(
        lambda pk: User.objects.filter(pk=pk, last_name__contains=F("first_name")).values_list(
            "pk"
        ),
        pk=-1,
    )
    assert query.rows(pk=user.pk) == []
    assert "%%" in query._compiled["default"][0]
    User.objects.filter(pk=user.pk).update(last_name="Jean-Dupont 100 %")
    assert query.rows(pk=user.pk) == [(user.pk,)]


@postgresql_only
def test_the_constants_are_written_into_the_prepared_statement_quoted():
    """A constant becomes a literal of the prepared statement (its generic plan can use a
    partial index on it), quoted by the driver: a quote in it stays data."""
    user = UserFactory(last_name="O'Hara; DROP TABLE segur_portal_user; --")
    query = CompiledQuery(
        lambda pk: User.objects.filter(pk=pk, last_name=user.last_name).values_list("pk"),
        pk=-1,
    )
    assert query.rows(pk=user.pk) == [(user.pk,)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE name = %s", [query._name]
        )
        (statement,) = cursor.fetchone()
    assert "'O''Hara; DROP TABLE segur_portal_user; --'" in statement
    assert "$1" in statement and "$2" not in statement
    assert User.objects.filter(pk=user.pk).exists()


def test_the_sweep_deletes_the_expired_sessions_only_a_bounded_number_a_run(monkeypatch):
    now = timezone.now()
    live = _signed_in(UserFactory())
    for n in range(5):
        store = SessionStore()
        store["n"] = n
        store.create()
        Session.objects.filter(session_key=store.session_key).update(
            expire_date=now - datetime.timedelta(minutes=n)
        )
    assert "segur_portal.signed_in.sessions_sweep" in settings.SWEEPERS
    monkeypatch.setattr(signed_in, "EXPIRED_SESSIONS_PER_SWEEP", 3)
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.sessions_sweep(now=now) == 3
    assert len(queries) == 2
    assert signed_in.sessions_sweep(now=now) == 2
    assert signed_in.sessions_sweep(now=now) == 0
    assert Session.objects.count() == 1
    assert _is_signed_in(live)
