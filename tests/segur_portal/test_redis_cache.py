"""Django's Redis cache with one client kept per pool (segur_portal/redis_cache.py): the
same answers, in a forked worker too, and a Redis that does not answer still raises for
the callers to handle (segur_portal/cache.py turns that into a rendering)."""

import os
import uuid

import pytest
from django.core.cache import caches

from segur_portal import settings as project_settings

redis_only = pytest.mark.skipif(
    not project_settings.REDIS_URL, reason="le cache Redis n’est configuré qu’avec REDIS_URL"
)


@redis_only
def test_the_redis_cache_keeps_one_client_per_pool(settings):
    settings.CACHES = {
        **settings.CACHES,
        "pages": {**project_settings.CACHES["pages"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"},
    }
    cache = caches["pages"]
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.set("a", {"x": 1}, 30)
    assert cache.get_many(["a", "b"]) == {"a": {"x": 1}}
    assert cache.add("n", 0, 30)
    assert cache.incr("n") == 1
    cache.delete("a")
    assert cache.get("a") is None


@redis_only
def test_the_kept_client_works_in_a_forked_process_and_after(settings):
    """A Celery or gunicorn worker forks after the cache was used: the child must not
    share the parent's sockets, and the parent goes on."""
    settings.CACHES = {
        **settings.CACHES,
        "pages": {**project_settings.CACHES["pages"], "KEY_PREFIX": f"t-{uuid.uuid4().hex}"},
    }
    cache = caches["pages"]
    cache.set("parent", 1, 30)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            cache.set("child", cache.get("parent") + 1, 30)
            os.write(write, b"ok")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 2) == b"ok"
    os.waitpid(child, 0)
    assert cache.get_many(["parent", "child"]) == {"parent": 1, "child": 2}


def test_a_redis_that_does_not_answer_still_raises_for_the_callers_to_handle(settings):
    settings.CACHES = {
        **settings.CACHES,
        "pages": {
            "BACKEND": "segur_portal.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    import redis

    with pytest.raises(redis.ConnectionError):
        caches["pages"].get("x")
    with pytest.raises(redis.ConnectionError):
        caches["pages"].get("x")
