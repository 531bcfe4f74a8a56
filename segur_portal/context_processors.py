from types import SimpleNamespace

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from segur_portal.navigation import nav_for_request
from segur_portal.selectors import unread_notification_count

# What django-dsfr's templates read from its DsfrConfig model, fixed here so that no
# page pays a query for it.
SITE_CONFIG = SimpleNamespace(
    site_title=settings.PORTAL_NAME,
    site_tagline=settings.PORTAL_TAGLINE,
    header_brand="République française",
    header_brand_html="République<br>française",
    footer_brand="République française",
    footer_brand_html="République<br>française",
    mourning=False,
    beta_tag=False,
)


def portal(request):
    user = request.user
    return {
        "SITE_CONFIG": SITE_CONFIG,
        "main_nav": SimpleLazyObject(lambda: nav_for_request(request)),
        "unread_count": SimpleLazyObject(
            lambda: unread_notification_count(user) if user.is_authenticated else 0
        ),
        "embedded_mode": settings.EMBEDDED,
        "support_email": settings.SUPPORT_EMAIL,
    }
