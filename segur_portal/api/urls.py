"""/api/v1/: the API's routes, its OpenAPI document and its documentation page.

They are outside the portal's login (LoginRequiredMiddleware): each operation asks for
its token, the document and the page are public."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, path

from segur_portal.api import candidatures, documents, echanges, preuves
from segur_portal.api.main import api
from segur_portal.api.problems import problem_response

api.add_router("", candidatures.router)
api.add_router("", preuves.router)
api.add_router("", echanges.router)
api.add_router("", documents.router)

patterns, app_name, namespace = api.urls
for pattern in patterns:
    if isinstance(pattern, URLPattern):
        login_not_required(pattern.callback)


@login_not_required
def unknown_route(request, rest: str):
    return problem_response(
        "introuvable", "Cette adresse n’est pas une opération de l’API (voir /api/v1/docs)."
    )


unknown_route.csrf_exempt = True

urlpatterns = [
    path("api/v1/", (patterns, app_name, namespace)),
    path("api/v1/<path:rest>", unknown_route, name="api_unknown"),
]
