"""The main menu of each role. Later features add their entries here."""

from dataclasses import dataclass

from django.urls import reverse

from segur_portal.enums import Role
from segur_portal.permissions import can_view_team


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # URL prefixes that mark the entry as the current page.
    prefixes: tuple[str, ...] = ()

    def url(self) -> str:
        return reverse(self.url_name)


REFERENTIEL = NavItem("Référentiel", "referentiel:list", ("/referentiel/",))
EN_COURS = NavItem(
    "Candidatures en cours", "registre:en_cours", ("/registre/en-cours", "/registre/parcs")
)
REGISTRE = NavItem("Logiciels référencés", "registre:referencees", ("/verifier/",))
PUBLIC = [NavItem("Accueil", "home"), REFERENTIEL, EN_COURS, REGISTRE]
CANDIDATURES = NavItem("Mes candidatures", "candidatures:list", ("/candidatures/",))
INSTRUCTION = NavItem("File d’instruction", "instruction:queue", ("/instruction/",))
# The agency's list of every candidature; a candidature's pages belong to it.
AGENCY_CANDIDATURES = NavItem("Candidatures", "candidatures:list", ("/candidatures/",))
STATISTICS = NavItem("Statistiques", "statistics", ("/statistiques/",))
DASHBOARD = NavItem("Tableau de bord", "dashboard", ("/tableau-de-bord/",))
REFERENTIEL_ADMIN = NavItem(
    "Gestion du référentiel", "referentiel_admin:home", ("/administration/referentiel/",)
)
TEAM = NavItem("Mon entreprise", "team", ("/entreprise/",))
COLLEGE = NavItem("Séances du collège", "college:seances", ("/college/",))
ADMINISTRATION = NavItem("Administration", "admin:index", ("/admin/",))
SUPPORT = NavItem("Support", "support:home", ("/support/",))
SUPPORT_INBOX = NavItem("Support des éditeurs", "support:inbox", ("/support/",))
# What instructors and administrators share.
AGENCY_TOOLS = [INSTRUCTION, AGENCY_CANDIDATURES, STATISTICS, SUPPORT_INBOX, COLLEGE]


def nav_items(user) -> list[NavItem]:
    if not user.is_authenticated:
        return PUBLIC
    if user.role == Role.EDITEUR:
        if can_view_team(user):
            return [DASHBOARD, CANDIDATURES, TEAM, SUPPORT, REFERENTIEL]
        return [DASHBOARD, REFERENTIEL]
    if user.role == Role.ADMIN:
        return [DASHBOARD, *AGENCY_TOOLS, REFERENTIEL_ADMIN, REFERENTIEL, ADMINISTRATION]
    if user.role == Role.INSTRUCTEUR:
        return [DASHBOARD, *AGENCY_TOOLS, REFERENTIEL]
    if user.role == Role.COLLEGE:
        return [DASHBOARD, COLLEGE, REFERENTIEL]
    return [DASHBOARD, REFERENTIEL]


def nav_for_request(request) -> list[dict]:
    path = request.path
    return [
        {
            "label": item.label,
            "url": (url := item.url()),
            "active": path == url or any(path.startswith(p) for p in item.prefixes),
        }
        for item in nav_items(request.user)
    ]
