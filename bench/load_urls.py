"""The portal's routes, and the floor of bench/load.py: a bare view that runs one query,
through the same middleware as every page."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path


@login_not_required
def floor(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("__plancher__/", floor), path("", include("segur_portal.urls"))]
