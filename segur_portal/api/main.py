"""The editors' REST API, version 1 (docs/API.md): django-ninja derives the OpenAPI 3.1
document from this code; /api/v1/docs renders it as a French page of the portal.

Every call carries a personal token (`Authorization: Bearer sgr_…`): the token acts as
its creator, with the rules of the pages (candidatures_visible_to, can_access_fichier,
the same services). Each token is rate-limited, and each call is written in the journal
with the token's name.
"""

import logging
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import is_ratelimited
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.security import HttpBearer

from candidatures.services.onboarding import cgu_accepted
from segur_portal.api.problems import (
    PROBLEM_CONTENT_TYPE,
    PROBLEMS,
    ApiProblem,
    errors_of,
    problem_response,
    validation_errors,
)
from segur_portal.api_tokens import api_token_authenticate
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append
from segur_portal.security import client_ip

logger = logging.getLogger(__name__)

DESCRIPTION = """API de l’éditeur : suivre ses candidatures, déposer ses preuves, répondre aux
sollicitations et aux réserves, télécharger ses récépissés et attestations.

Chaque appel porte un jeton personnel, créé dans « Mon compte » du portail :
`Authorization: Bearer sgr_…`. Le jeton agit au nom de la personne qui l’a créé, avec les
mêmes droits que dans le portail ; un jeton « lecture seule » ne modifie rien. Les erreurs
suivent la RFC 9457 (`application/problem+json`). Voir docs/API.md pour des exemples."""


# What each status means, in the document (ninja writes "OK", "Not Found"…).
ANSWER_DESCRIPTIONS = {
    200: "Réussite.",
    201: "Créé.",
    204: "Fait ; pas de contenu.",
    400: "Requête mal formée (caractère de contrôle, corps qui n’est pas en multipart…).",
    401: "Jeton absent, inconnu, révoqué ou expiré.",
    403: "Action non autorisée pour ce compte, ou jeton en lecture seule.",
    404: "Introuvable, ou d’une autre entreprise.",
    413: "Envoi trop volumineux : rien n’a été enregistré.",
    422: "Données invalides, ou action refusée par les règles de la procédure.",
    429: "Trop d’appels pour ce jeton : réessayer après Retry-After secondes.",
}


class TokenAuth(HttpBearer):
    """The personal token, its creator's gate (address confirmed, CGU in force accepted,
    company), and the token's rate limit, before anything else is read."""

    def authenticate(self, request, token: str):
        api_token = api_token_authenticate(token.strip(), now=timezone.now())
        if api_token is None:
            return None
        user = api_token.created_by
        request.api_token = api_token
        request.user = user
        limited = is_ratelimited(
            request,
            group="api-token",
            key=lambda _group, _request: f"token:{api_token.pk}",
            rate=settings.RATELIMIT_API_TOKEN,
            increment=True,
        )
        if limited:
            raise ApiProblem(
                "trop-de-demandes",
                f"Ce jeton a dépassé sa limite d’appels ({settings.RATELIMIT_API_TOKEN}) : "
                "réessayez dans une minute.",
                headers={"Retry-After": "60"},
            )
        if user.email_verified_at is None or not cgu_accepted(user):
            raise ApiProblem(
                "interdit",
                "Confirmez votre adresse électronique et acceptez les conditions générales "
                "d’utilisation en vigueur dans le portail avant d’utiliser l’API.",
            )
        return api_token


class PortalDocs(DocsBase):
    """The OpenAPI document as a page of the portal: in French, with its layout, no
    script and no outside resource (the portal's CSP stands)."""

    def render_page(self, request, api, **kwargs):
        from segur_portal.api.docs import docs_context

        return render(request, "api/docs.html", docs_context(api, request))


class PortalApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # Errors are problem details (RFC 9457): said so in the document, where ninja
        # writes application/json for every answer.
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
                    if int(status) in ANSWER_DESCRIPTIONS:
                        response["description"] = ANSWER_DESCRIPTIONS[int(status)]
        schema["components"].setdefault("securitySchemes", {})["TokenAuth"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "Jeton personnel créé dans « Mon compte » (sgr_…).",
        }
        return schema


api = PortalApi(
    title="API du portail de référencement Ségur",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=PortalDocs(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def journal_call(run):
    """Each call made with a token, in the journal: the token's name, the route, the
    answer's status, the address; the candidature when the call reached one."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        token = getattr(request, "api_token", None)
        if token is not None:
            journal_append(
                kind=JournalKind.API_APPEL,
                actor=token.created_by,
                editeur=token.editeur,
                candidature=getattr(request, "api_candidature", None),
                data={
                    "token": token.pk,
                    "token_name": token.name,
                    "scope": token.scope,
                    "method": request.method,
                    "path": request.path[:300],
                    "status": response.status_code,
                    "ip": client_ip(request),
                },
            )
        return response

    return wrapper


api.add_decorator(journal_call, mode="view")


def writes(view):
    """A write: refused to a read-only token, before the body is read."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.auth.writes:
            raise ApiProblem(
                "portee-insuffisante",
                "Ce jeton est en lecture seule : créez un jeton « lecture et écriture » "
                "pour déposer, répondre ou soumettre.",
            )
        return view(request, *args, **kwargs)

    return wrapped


@api.exception_handler(ApiProblem)
def _problem(request, exc: ApiProblem):
    return problem_response(exc.slug, exc.detail, errors=exc.errors, headers=exc.headers)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return problem_response(
        "non-authentifie",
        "Indiquez un jeton valide : en-tête « Authorization: Bearer sgr_… ». Un jeton se crée "
        "dans « Mon compte » du portail ; il cesse de valoir une fois révoqué ou expiré.",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc):
    errors = validation_errors(exc.errors)
    return problem_response(
        "donnees-invalides", "La requête contient des valeurs invalides.", errors=errors
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    detail = str(exc) if exc.args and str(exc) else "Ressource introuvable."
    return problem_response("introuvable", detail)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    detail = str(exc) or "Cette action n’est pas ouverte à votre compte."
    return problem_response("interdit", detail)


@api.exception_handler(DjangoValidationError)
def _refused(request, exc):
    detail, errors = errors_of(exc)
    return problem_response("action-refusee", detail, errors=errors)


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc):
    # Django's caps on a body (settings.DATA_UPLOAD_*), met before any operation runs.
    if isinstance(exc, RequestDataTooBig):
        return problem_response(
            "trop-volumineux",
            "Le corps de la requête dépasse ce que le portail lit hors fichiers "
            f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} Kio) : rien n’a été enregistré.",
        )
    return problem_response("requete-invalide", "Requête refusée : corps mal formé ou démesuré.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    slug = next(
        (slug for slug, (status, _title) in PROBLEMS.items() if status == exc.status_code),
        "requete-invalide",
    )
    return problem_response(slug, str(exc))


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("erreur de l’API sur %s", request.path, exc_info=exc)
    return problem_response(
        "erreur-interne",
        "Le portail n’a pas pu traiter la demande ; l’erreur est enregistrée. Réessayez plus tard.",
    )
