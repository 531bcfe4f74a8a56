"""What every signed-in request reads before its view: its session and its account.

Both are Django's own (database sessions, `ModelBackend`), with the same rules: a
session past its expiry date is no session, an unknown key is dropped, an account that
may not sign in (inactive) is no account, and Django still checks the session's
password hash against the account's. What changes is how they are read: the session's
row holds the id of the account signed in to it (segur_portal.models.Session), and one
statement, compiled once per process and prepared on PostgreSQL
(segur_portal.compiled), reads the session and its account together. ModelBackend
takes the account read with the request's session when it is the one asked for, and
reads it alone otherwise. A signed-in request that does little else (the notification
badge asked for each minute, a page served from the account's cache) costs half what
it did.

SESSION_ENGINE names this module; AUTHENTICATION_BACKENDS names its ModelBackend; the
periodic sweep deletes the sessions past their expiry date (sessions_sweep).
"""

import contextvars
from datetime import datetime

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth import backends as auth_backends
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.core.signals import request_started
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from segur_portal.compiled import CompiledQuery

# Never a real session key (letters and digits only) nor a real account id.
_KEY = "__segur_session_key__"
_ACCOUNT = -7_020_606

# The account read with the session of the request being served, for ModelBackend in
# the same request; emptied when a request starts and once taken.
_read_with_session: contextvars.ContextVar = contextvars.ContextVar(
    "segur_account_read_with_session", default=None
)


def _forget_account(**kwargs) -> None:
    _read_with_session.set(None)


request_started.connect(_forget_account, dispatch_uid="segur_portal.signed_in")


def _account_fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


def _account_id(value):
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


class SessionStore(db.SessionStore):
    _lookup = CompiledQuery(
        lambda key: (
            SessionStore.get_model_class()
            .objects.filter(session_key=key)
            .values_list(
                "session_data", "expire_date", *(f"account__{name}" for name in _account_fields())
            )
        ),
        key=_KEY,
    )

    @classmethod
    def get_model_class(cls):
        from segur_portal.models import Session

        return Session

    def _get_session_from_db(self):
        _forget_account()
        found = self._lookup.rows(key=self.session_key) if self.session_key else []
        # As Django's: past its expiry date (SESSION_EXPIRE_AT_BROWSER_CLOSE included,
        # the date then being the server's limit), the session is gone.
        if not found or found[0][1] <= timezone.now():
            self._session_key = None
            return None
        session_data, expire_date, *account = found[0]
        if account[0] is not None:
            _read_with_session.set(
                get_user_model().from_db(DEFAULT_DB_ALIAS, _account_fields(), account)
            )
        return self.model(
            session_key=self.session_key, session_data=session_data, expire_date=expire_date
        )

    def create_model_instance(self, data):
        """The row saved, with the account the session is signed in to (none after
        signing out, or before signing in)."""
        session = super().create_model_instance(data)
        session.account_id = _account_id(data.get(SESSION_KEY))
        return session


class ModelBackend(auth_backends.ModelBackend):
    _lookup = CompiledQuery(lambda pk: get_user_model()._default_manager.filter(pk=pk), pk=_ACCOUNT)

    def get_user(self, user_id):
        pk = _account_id(user_id)
        if pk is None:
            return None
        read = _read_with_session.get()
        _forget_account()
        if read is not None and read.pk == pk:
            user = read
        else:
            found = self._lookup.instances(pk=pk)
            user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None


# Sessions past their expiry date deleted by one sweep at most: the rest wait a minute.
EXPIRED_SESSIONS_PER_SWEEP = 5_000


def sessions_sweep(*, now: datetime) -> int:
    """Sweep: delete the sessions past their expiry date (no request can use them any
    more), at most EXPIRED_SESSIONS_PER_SWEEP a run, found on the expiry date's index.
    Returns how many."""
    model = SessionStore.get_model_class()
    expired = list(
        model.objects.filter(expire_date__lte=now).values_list("pk", flat=True)[
            :EXPIRED_SESSIONS_PER_SWEEP
        ]
    )
    if not expired:
        return 0
    return model.objects.filter(pk__in=expired).delete()[0]
