from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address, as seen by the last trusted reverse proxy (or the socket)."""
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")
