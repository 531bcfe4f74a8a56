"""The portal's URLs and one view that fails, for the error-page tests."""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path


@login_not_required
def broken(request):
    raise RuntimeError("panne simulée")


urlpatterns = [path("panne/", broken), path("", include("segur_portal.urls"))]
