"""Public pages kept in the "pages" cache (Redis in production, a database table in the
embedded portal), one entry per view, filter and page, until what they show changes.

The services that change what the public lists show (every state change, which issues
and withdraws attestations too; a customer base uploaded; a company's or a
candidature's public data edited) call `public_pages_changed()`: it draws a new version,
at once and again after their commit, and every key holds the version, so no page
rendered before the change is served after it. The version lives in the same cache: evicted, it is drawn
again, which also invalidates. Entries expire anyway after PAGES_TIMEOUT.

Only anonymous visitors get cached pages: a signed-in person's page carries their name
and notifications, and is rendered for them. The page's CSRF token (every page carries
one for htmx) is put back for each visitor, never served from one to another. A cache
that does not answer (Redis down) costs a rendering, never an error.
"""

import hashlib
import logging
import re
import uuid
from functools import wraps

from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.csrf import get_token

logger = logging.getLogger(__name__)

PAGES = "pages"
PAGES_TIMEOUT = 10 * 60
VERSION_KEY = "public-version"
# A feed larger than this streams without being kept.
MAX_FEED_BYTES = 8 * 2**20
KEPT_HEADERS = ("Content-Type", "Content-Disposition")
TOKEN = re.compile(rb'"X-CSRFToken": "([A-Za-z0-9]{32,64})"')
TOKEN_PLACEHOLDER = b"__segur_csrf_token__"


def _cache():
    return caches[PAGES]


def _bump() -> None:
    try:
        _cache().set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        # The entries expire by themselves; say it, so that an operator knows why a
        # change took minutes to show.
        logger.exception("cache des pages publiques : invalidation impossible")


def public_pages_changed() -> None:
    """What the public pages show has changed: serve them afresh. Now, and once more
    after the commit: a request between the two could otherwise keep the data as it was
    before the commit under the new version."""
    _bump()
    transaction.on_commit(_bump, robust=True)


def _version() -> str:
    version = _cache().get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        _cache().add(VERSION_KEY, version, None)
        version = _cache().get(VERSION_KEY, version)
    return version


def _cacheable(request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
        # A message waits for this visitor (after signing out, say): theirs alone.
        and "messages" not in request.COOKIES
    )


def _stored(response) -> dict:
    return {
        "status": response.status_code,
        "headers": {name: response[name] for name in KEPT_HEADERS if name in response},
    }


def _without_token(content: bytes) -> bytes:
    found = TOKEN.search(content)
    return content.replace(found.group(1), TOKEN_PLACEHOLDER) if found else content


def _served(request, entry: dict) -> HttpResponse:
    content = entry["content"]
    if TOKEN_PLACEHOLDER in content:
        content = content.replace(TOKEN_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(content, status=entry["status"])
    for name, value in entry["headers"].items():
        response[name] = value
    return response


def _kept_while_streamed(chunks, key: str, entry: dict):
    """Stream the feed as it comes; keep it once it has all gone out, if small enough."""
    kept, size = [], 0
    for chunk in chunks:
        yield chunk
        if kept is not None:
            kept.append(chunk)
            size += len(chunk)
            if size > MAX_FEED_BYTES:
                kept = None
    if kept is not None:
        _store(key, {**entry, "content": b"".join(kept)})


def _store(key: str, entry: dict) -> None:
    try:
        _cache().set(key, entry, PAGES_TIMEOUT)
    except Exception:
        logger.warning("cache des pages publiques indisponible (écriture)", exc_info=True)


def cached_public_page(view):
    """Serve the view's answer to anonymous visitors from the "pages" cache, per full
    path (filters and page number included) and version of the public data."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:40]
        try:
            key = f"page:{view.__module__}.{view.__name__}:{_version()}:{path}"
            entry = _cache().get(key)
        except Exception:
            logger.warning("cache des pages publiques indisponible (lecture)", exc_info=True)
            return view(request, *args, **kwargs)
        if entry is not None:
            return _served(request, entry)
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or response.cookies:
            return response
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _kept_while_streamed(
                response.streaming_content, key, _stored(response)
            )
            return response
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        _store(key, {**_stored(response), "content": _without_token(response.content)})
        return response

    return wrapper


# Pages of a signed-in account

ACCOUNT_PAGE_TIMEOUT = 60


def account_page(request, *, name: str, facts, render) -> HttpResponse:
    """The page `render()` gives, kept for the signed-in person alone while `facts` (what
    the page shows, read by the caller in one cheap query) and the public data's version
    stay the same. The key holds the account, so that no one is served another's page;
    the facts hold the company and whatever else the page shows of the account. Entries
    live ACCOUNT_PAGE_TIMEOUT seconds: the clocks a page shows move with time alone, and
    a change made behind the services' backs (Django admin) shows within that time.

    Like the public pages: the CSRF token is put back for each request; a message
    waiting for the person, or a cache that does not answer, costs a rendering."""
    if request.method not in ("GET", "HEAD") or len(get_messages(request)):
        return render()
    user = request.user
    digest = hashlib.sha256(repr((user.pk, facts)).encode()).hexdigest()[:40]
    key = f"account:{name}:{user.pk}:{digest}"
    try:
        found = _cache().get_many([VERSION_KEY, key])
        entry = found.get(key)
        if entry is not None and entry["version"] == found.get(VERSION_KEY):
            return _served(request, entry)
        version = found.get(VERSION_KEY) or _version()
    except Exception:
        logger.warning("cache des pages indisponible (lecture)", exc_info=True)
        return render()
    response = render()
    if response.status_code == 200 and not response.cookies:
        entry = {**_stored(response), "content": _without_token(response.content)}
        try:
            _cache().set(key, {**entry, "version": version}, ACCOUNT_PAGE_TIMEOUT)
        except Exception:
            logger.warning("cache des pages indisponible (écriture)", exc_info=True)
    return response
