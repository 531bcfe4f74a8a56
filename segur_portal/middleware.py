import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponseBadRequest
from django.utils.cache import add_never_cache_headers, patch_cache_control

from segur_portal.errors import page_not_found, server_error
from segur_portal.views import healthz

request_logger = logging.getLogger("django.request")

# No page of the portal uses these browser features: refuse them to any script or frame.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "battery",
        "browsing-topics",
        "camera",
        "display-capture",
        "document-domain",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


class HealthzMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect.

    Container and load-balancer probes call the server by its internal address over
    plain HTTP; they must get the health report, not a 400 or a 301.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method == "GET":
            return healthz(request)
        return self.get_response(request)


def has_control_characters(value: str, *, allow_line_breaks: bool = True) -> bool:
    """NUL and the C0/C1 controls; the tab, CR and LF a text area holds if allowed."""
    allowed = "\t\r\n" if allow_line_breaks else ""
    return any((ord(char) < 32 and char not in allowed) or 127 <= ord(char) < 160 for char in value)


def _holds_controls(data, *, allow_line_breaks: bool) -> bool:
    return any(
        has_control_characters(key, allow_line_breaks=allow_line_breaks)
        or has_control_characters(value, allow_line_breaks=allow_line_breaks)
        for key, values in data.lists()
        for value in values
    )


class RejectControlCharactersMiddleware:
    """Answer 400 to a query string holding NUL or a control character.

    No link of the portal carries them, and further down a NUL reaches PostgreSQL
    ("A string literal cannot contain NUL") as a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A link never carries a line break; a form's text area may.
        strict = [request.GET]
        lenient = []
        # A form posted url-encoded is read here as CsrfViewMiddleware would read it;
        # a multipart body is left to the view, which installs its upload limits first.
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            lenient.append(request.POST)
        if (
            has_control_characters(request.path_info, allow_line_breaks=False)
            or any(_holds_controls(data, allow_line_breaks=False) for data in strict)
            or any(_holds_controls(data, allow_line_breaks=True) for data in lenient)
        ):
            message = "Requête refusée : elle contient un caractère de contrôle (NUL ou autre caractère invisible)."
            if request.path_info.startswith("/api/"):
                # The API answers its errors as problem details (docs/API.md).
                from segur_portal.api.problems import problem_response

                return problem_response("requete-invalide", message)
            return HttpResponseBadRequest(
                message,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response; a signed-in page is never stored by a
    browser or a shared cache (it shows one company's data)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "Cache-Control" not in response.headers:
                add_never_cache_headers(response)
                patch_cache_control(response, private=True)
            elif "no-store" not in response["Cache-Control"]:
                patch_cache_control(response, private=True, no_store=True)
        return response


class DebugErrorPagesMiddleware:
    """The portal's own 404 and 500 pages with DEBUG on too (the embedded demo).

    With DEBUG, Django answers an unknown address or an uncaught error with its English
    technical page (every URL pattern, the settings). People trying the demo get the
    French page production shows; the traceback still goes to the console. It sits
    outside CommonMiddleware, whose APPEND_SLASH redirect comes first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No URL pattern matched: Django's technical 404 lists them all.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG:
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, PermissionDenied | BadRequest | SuspiciousOperation):
            # Django answers these with 403 (handler403) or 400, not a server error.
            return None
        request_logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"request": request},
        )
        return server_error(request)
