"""Writes on the eligibility form (DSR §4.3): CNDA numbers and deposit proof, the
customer-base versions list, profiles, additional components, groupement, distributors
and the commitment letter; then its submission and validation."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase
from candidatures.models import (
    Candidature,
    ComposantAdditionnel,
    Distributeur,
    MembreGroupement,
    VersionParc,
)
from candidatures.parc import ParsedParc, parse_parc_versions
from candidatures.services.candidature import (
    NOT_CLEANED,
    _apply,
    _close_open_sollicitations,
    _general_profiles,
    _require_member,
    _require_procedure,
    notify_company,
    open_sollicitation,
)
from preuves.enums import FichierStatus as Status
from preuves.models import Fichier
from preuves.services import (
    PDF_10_MO,
    PDF_OR_IMAGE_10_MO,
    FileRule,
    fichier_receive,
    receiving_files,
)
from segur_portal.cache import public_pages_changed
from segur_portal.clocks import due_display

S = CandidatureState
PARC_RULE = FileRule(
    allowed_mime_types=frozenset(
        {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "text/csv",
            "text/plain",
            "application/csv",
        }
    ),
    max_bytes=5 * 2**20,
    label="tableur XLSX ou CSV, 5 Mo",
)
FILE_FIELDS = {
    "cnda_depot": PDF_OR_IMAGE_10_MO,
    "lettre_engagement": PDF_10_MO,
}
# Every document of the form, by field: the two above and each member's mandate.
DOCUMENT_RULES = FILE_FIELDS | {"mandat": PDF_10_MO}


def eligibility_editable(candidature: Candidature, now) -> bool:
    """Once the administrative candidature is validated, before the form's submission,
    or to answer an open eligibility sollicitation."""
    if candidature.state == S.ADMIN_VALIDEE:
        return now < candidature.campagne.j4
    return candidature.state == S.ELIGIBILITE_SOUMISE and bool(
        open_sollicitation(candidature, SollicitationPhase.ELIGIBILITE, now)
    )


def profiles_frozen(candidature: Candidature) -> bool:
    # DSR §4.3: the choice is final once the form is submitted; a change needs a new
    # candidature.
    return candidature.eligibility_submitted_at is not None


PARC_NOT_EDITABLE = (
    "Le formulaire d’éligibilité n’est plus modifiable : il l’est après la validation "
    "de la candidature administrative et avant sa soumission, ou pour répondre à une "
    "sollicitation de l’ANS."
)


def _lock_for_edit(candidature: Candidature, actor, now) -> Candidature:
    _require_member(actor, candidature)
    locked = Candidature.objects.select_for_update().get(pk=candidature.pk)
    if not eligibility_editable(locked, now):
        raise ValidationError(PARC_NOT_EDITABLE)
    return locked


def eligibility_file_receive(*, candidature: Candidature, actor, field: str, upload, now=None):
    """Store one document of the form as soon as it is chosen, whatever the rest of the
    form says: on a form error the page keeps it ("fichier reçu") instead of asking for
    it again; the next valid save attaches it (`eligibility_save`)."""
    now = now or timezone.now()
    _require_member(actor, candidature)
    current = Candidature.objects.select_related("campagne", "editeur").get(pk=candidature.pk)
    if not eligibility_editable(current, now):
        raise ValidationError(PARC_NOT_EDITABLE)
    with receiving_files():
        return fichier_receive(
            upload=upload, rule=DOCUMENT_RULES[field], editeur=current.editeur, actor=actor
        )


def _stored(upload, rule: FileRule, candidature: Candidature, actor) -> Fichier:
    """A document for the form: received already (a Fichier of the company), or now."""
    if isinstance(upload, Fichier):
        if upload.editeur_id != candidature.editeur_id:
            raise ValidationError("Ce fichier n’appartient pas à votre entreprise.")
        return upload
    return fichier_receive(upload=upload, rule=rule, editeur=candidature.editeur, actor=actor)


def eligibility_save(
    *,
    candidature: Candidature,
    actor,
    data: dict,
    composants: list[dict],
    membres: list[dict],
    distributeurs: list[dict],
    uploads: dict,
    now=None,
) -> Candidature:
    """Save the form as it stands. `uploads` maps "cnda_depot", "lettre_engagement" and
    ("mandat", index) to new files (uploaded, or received by `eligibility_file_receive`);
    absent keys keep the stored ones."""
    now = now or timezone.now()
    with receiving_files(), transaction.atomic():
        locked = _lock_for_edit(candidature, actor, now)
        locked.nie = data["nie"]
        locked.nil = data["nil"]
        locked.groupement = data["groupement"]
        locked.distribue = data["distribue"]
        for field in [
            "v1_sans_engagement_compatibilite",
            "v1_audit_non_conformite",
            "v1_defaut_non_resolu",
            "v1_dereferencement_en_cours",
        ]:
            setattr(locked, field, data.get(field, False) and locked.is_v1_software)
        for field, rule in FILE_FIELDS.items():
            if uploads.get(field):
                setattr(locked, field, _stored(uploads[field], rule, locked, actor))
        locked.full_clean(exclude=NOT_CLEANED)
        locked.save()
        if not profiles_frozen(locked):
            chosen = {p.pk for p in data["profils"]} | {p.pk for p in _general_profiles(locked.dsr)}
            locked.profils.set(locked.dsr.profils.filter(pk__in=chosen))
        locked.composants.all().delete()
        ComposantAdditionnel.objects.bulk_create(
            ComposantAdditionnel(candidature=locked, **composant) for composant in composants
        )
        _save_membres(locked, membres if locked.groupement else [], uploads, actor)
        locked.distributeurs.all().delete()
        if locked.distribue:
            Distributeur.objects.bulk_create(
                Distributeur(candidature=locked, **distributeur) for distributeur in distributeurs
            )
    return locked


def _save_membres(candidature: Candidature, membres: list[dict], uploads: dict, actor) -> None:
    previous = {m.siret: m.mandat for m in candidature.membres_groupement.all()}
    candidature.membres_groupement.all().delete()
    for index, membre in enumerate(membres):
        upload = uploads.get(("mandat", index))
        mandat = (
            _stored(upload, PDF_10_MO, candidature, actor)
            if upload
            else previous.get(membre["siret"])
        )
        MembreGroupement.objects.create(
            candidature=candidature,
            raison_sociale=membre["raison_sociale"],
            siret=membre["siret"],
            mandat=mandat,
        )


def parc_upload(*, candidature: Candidature, actor, upload, now=None) -> ParsedParc:
    """Read the customer-base versions list. Without error, it replaces the previous one
    and is published at once; with any error, nothing changes and the errors say where."""
    now = now or timezone.now()
    # Rights and state before reading a cell: parsing costs, refusing does not.
    _require_member(actor, candidature)
    current = Candidature.objects.select_related("campagne").get(pk=candidature.pk)
    if not eligibility_editable(current, now):
        raise ValidationError(PARC_NOT_EDITABLE)
    parsed = parse_parc_versions(upload, filename=upload.name)
    if not parsed.ok:
        return parsed
    upload.seek(0)
    with receiving_files(), transaction.atomic():
        locked = _lock_for_edit(candidature, actor, now)
        locked.parc_fichier = fichier_receive(
            upload=upload, rule=PARC_RULE, editeur=locked.editeur, actor=actor
        )
        locked.parc_received_at = now
        locked.save(update_fields=["parc_fichier", "parc_received_at"])
        locked.versions_parc.all().delete()
        VersionParc.objects.bulk_create(
            VersionParc(
                candidature=locked,
                version_technique=version.technical_version,
                nom_commercial=version.commercial_name,
                referencee_v1=version.referenced_v1,
                fin_maintenance=version.maintenance_end_notice,
                fin_maintenance_url=version.maintenance_end_url,
                fin_commercialisation=version.sale_end_notice,
                fin_commercialisation_url=version.sale_end_url,
                position=position,
            )
            for position, version in enumerate(parsed.versions)
        )
        # Published at once: the customer-base pages show it.
        public_pages_changed()
    return parsed


def _file_problem(fichier: Fichier | None, label: str) -> str | None:
    if fichier is None:
        return f"{label} : fichier à déposer"
    if fichier.status == Status.EN_VERIFICATION:
        return f"{label} : vérification du fichier en cours, patientez quelques secondes"
    if fichier.status == Status.REFUSEE:
        return f"{label} : fichier refusé, déposez-en un autre ({fichier.refusal_reason})"
    return None


def eligibility_missing(candidature: Candidature) -> list[str]:
    """What still prevents the submission, in the editor's words."""
    missing = []
    if not candidature.nie:
        missing.append("le NIE délivré par le CNDA")
    if not candidature.nil:
        missing.append("le NIL délivré par le CNDA")
    for field, label in [
        ("cnda_depot", "l’attestation de dépôt de la demande de labellisation CNDA"),
        ("lettre_engagement", "la lettre d’engagement signée"),
    ]:
        problem = _file_problem(getattr(candidature, field), label)
        if problem:
            missing.append(problem)
    if not candidature.versions_parc.exists():
        missing.append("la liste des versions du parc client")
    if not candidature.profils.filter(mandatory=True).exists():
        missing.append("le profil « Général »")
    if candidature.groupement:
        membres = list(candidature.membres_groupement.select_related("mandat"))
        if not membres:
            missing.append("les membres du groupement")
        for membre in membres:
            problem = _file_problem(membre.mandat, f"le mandat de {membre.raison_sociale}")
            if problem:
                missing.append(problem)
    if candidature.distribue and not candidature.distributeurs.exists():
        missing.append("la liste des distributeurs")
    return missing


def candidature_submit_eligibility(*, candidature: Candidature, actor, now=None):
    now = now or timezone.now()
    _require_member(actor, candidature)

    def check(locked: Candidature) -> None:
        if now >= locked.campagne.j4:
            raise ValidationError(
                "Le formulaire d’éligibilité pouvait être soumis une première fois "
                f"{due_display(locked.campagne.j4)} (J4) : il ne peut plus l’être."
            )
        missing = eligibility_missing(locked)
        if missing:
            raise ValidationError("Il manque : " + " ; ".join(missing) + ".")

    def after(locked: Candidature) -> None:
        locked.eligibility_submitted_at = now

    candidature = _apply(
        candidature=candidature,
        name="submit_eligibility",
        actor=actor,
        now=now,
        check=check,
        after=after,
    )
    notify_company(
        candidature,
        title=f"Formulaire d’éligibilité reçu — {candidature.nom_commercial}",
        body=f"L’ANS a bien reçu le formulaire d’éligibilité de la candidature "
        f"{candidature.reference}. Les profils choisis sont désormais définitifs.",
    )
    return candidature


def candidature_validate_eligibility(*, candidature: Candidature, actor, now=None):
    now = now or timezone.now()
    _require_procedure(actor)

    def after(locked: Candidature) -> None:
        locked.eligible_at = now
        _close_open_sollicitations(locked, SollicitationPhase.ELIGIBILITE, now)

    candidature = _apply(
        candidature=candidature, name="validate_eligibility", actor=actor, now=now, after=after
    )
    notify_company(
        candidature,
        title=f"Candidature éligible — {candidature.nom_commercial}",
        body="Votre candidature est éligible : l’espace de dépôt des preuves est ouvert. "
        "Le dossier de preuves complet est à soumettre "
        f"{due_display(candidature.campagne.j6)} (J6).",
    )
    return candidature
