"""The client's address, and the limits on what one address may ask for.

Every place that records or counts a client address (the login lock, the download log,
the convention signature, the rate limits) reads it from `client_ip`.
"""

import time
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.shortcuts import render
from django_ratelimit.decorators import ratelimit


def client_ip(request) -> str | None:
    """The client's address, as seen by the last trusted reverse proxy (or the socket).

    X-Forwarded-For is read only when TRUSTED_PROXY_COUNT proxies sit in front: each
    appends the address it received the request from, so the entry that many places from
    the right was written by our first proxy. Anything to its left is the client's own
    text. Without a trusted proxy the header is ignored: a client can write anything in it.
    """
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")


def rate_limited(rate_setting: str, *, group: str | None = None, method=("GET", "POST")):
    """Per-address rate limit of a public view (django-ratelimit on the `ratelimit` cache).

    The rate ("20/m") is read from the named setting at each request. Over the limit the
    view answers 429 (`ratelimited_view`, through django-ratelimit's middleware).
    """

    def rate(group, request):
        return getattr(settings, rate_setting)

    return ratelimit(key="ip", rate=rate, group=group, method=list(method), block=True)


@login_not_required
def ratelimited_view(request, exception=None):
    response = render(request, "429.html", {"title": "Trop de demandes"}, status=429)
    response["Retry-After"] = "60"
    return response


def respond_no_sooner(seconds_setting: str):
    """Pad a view's answer to a fixed minimum duration.

    Used where the work done depends on whether an account exists (password reset): the
    answer then takes the same time for a known and an unknown address.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            started = time.monotonic()
            response = view(request, *args, **kwargs)
            if request.method == "POST":
                remaining = getattr(settings, seconds_setting) - (time.monotonic() - started)
                if remaining > 0:
                    time.sleep(remaining)
            return response

        return wrapper

    return decorator


class AtomicDatabaseCache(DatabaseCache):
    """Django's database cache with an atomic `incr`, for the rate limits of the embedded
    portal (no Redis there).

    The stock `incr` reads then writes: two concurrent requests can both read 4 and both
    write 5, and a limit counts fewer hits than it gets. Here the row is locked first
    (SELECT … FOR UPDATE on PostgreSQL; SQLite's write transaction, which the embedded
    settings open IMMEDIATE, serialises writers), so each hit is counted.
    """

    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        cache_key = self.make_and_validate_key(key, version=version)
        table = connection.ops.quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT cache_key FROM {table} WHERE cache_key = %s{lock}",
                    [cache_key],
                )
            return super().incr(key, delta, version)
