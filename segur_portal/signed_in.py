"""What every signed-in request reads before its view: its session and its account.

Both are Django's own (database sessions, `ModelBackend`), with the same rules: a
session past its expiry date is no session, an unknown key is dropped, an account that
may not sign in (inactive) is no account, and Django still checks the session's
password hash against the account's. Only the two lookups change: each runs a
statement compiled once per process (segur_portal.compiled), which halves the cost of
a signed-in request that does little else (the notification badge asked for each
minute, a page served from the account's cache).

SESSION_ENGINE names this module; AUTHENTICATION_BACKENDS names its ModelBackend.
"""

from django.contrib.auth import backends as auth_backends
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.utils import timezone

from segur_portal.compiled import CompiledQuery

# Never a real session key (letters and digits only) nor a real account id.
_KEY = "__segur_session_key__"
_ACCOUNT = -7_020_606


class SessionStore(db.SessionStore):
    _lookup = CompiledQuery(
        lambda key: (
            SessionStore.get_model_class()
            .objects.filter(session_key=key)
            .values_list("session_data", "expire_date")
        ),
        key=_KEY,
    )

    def _get_session_from_db(self):
        found = self._lookup.rows(key=self.session_key) if self.session_key else []
        # As Django's: past its expiry date (SESSION_EXPIRE_AT_BROWSER_CLOSE included,
        # the date then being the server's limit), the session is gone.
        if not found or found[0][1] <= timezone.now():
            self._session_key = None
            return None
        session_data, expire_date = found[0]
        return self.model(
            session_key=self.session_key, session_data=session_data, expire_date=expire_date
        )


class ModelBackend(auth_backends.ModelBackend):
    _lookup = CompiledQuery(lambda pk: get_user_model()._default_manager.filter(pk=pk), pk=_ACCOUNT)

    def get_user(self, user_id):
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = self._lookup.instances(pk=pk)
        if not found:
            return None
        return found[0] if self.user_can_authenticate(found[0]) else None
