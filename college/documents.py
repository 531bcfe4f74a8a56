"""The PDF documents of phase 3: the convention de référencement (to sign, then signed),
the procès-verbal of a séance of the collège and the attestation de référencement.

Each function takes model instances and returns the PDF's bytes; storing them and
their hash is the business of college.services. All share templates/pdf/base.html.
"""

from datetime import date, datetime

import segno
from django.conf import settings
from django.db.models import Prefetch

from candidatures.models import Candidature, Exigence
from college.enums import DecisionKind
from college.models import Attestation, ConflitInteret, Convention, Reserve, Seance
from preuves.cnda import cnda_states
from segur_portal.clocks import FRENCH_MONTHS, FRENCH_WEEKDAYS, due_display, format_paris_datetime
from segur_portal.pdf import render_pdf

# Error correction at least M (15 %; segno raises it when the symbol size allows):
# survives a folded or smudged printout without making the code too dense to scan.
QR_ERROR = "m"
# The quiet zone around the code, in modules, as ISO/IEC 18004 asks.
QR_BORDER = 4


def french_date(day: date, *, weekday: bool = False) -> str:
    """e.g. "1er mars 2026", or with weekday=True "dimanche 1er mars 2026"."""
    day_number = "1er" if day.day == 1 else str(day.day)
    text = f"{day_number} {FRENCH_MONTHS[day.month - 1]} {day.year}"
    return f"{FRENCH_WEEKDAYS[day.weekday()]} {text}" if weekday else text


def verification_qr(url: str) -> segno.QRCode:
    """The QR code of an attestation's public verification page."""
    return segno.make_qr(url, error=QR_ERROR)


def _person(user) -> str:
    return user.get_full_name() if user else "—"


def _candidature_context(candidature: Candidature) -> dict:
    return {
        "candidature": candidature,
        "editeur": candidature.editeur,
        "dsr": candidature.campagne.dsr,
        "rem_version": candidature.rem_version,
        "profils": [profil.name for profil in candidature.profils.all()],
    }


# Convention


def convention_data(candidature: Candidature, issued_at: datetime) -> dict:
    """What the convention states, as plain data: stored with the convention when it is
    issued, so that the signed document says exactly what the signer was shown even if
    the company's record changes in between."""
    editeur = candidature.editeur
    return {
        "candidature": {
            "reference": candidature.reference,
            "nom_commercial": candidature.nom_commercial,
            "version_technique": candidature.version_technique,
        },
        "editeur": {
            "raison_sociale": editeur.raison_sociale,
            "siret": editeur.siret,
            "representant_nom": editeur.representant_nom,
            "representant_titre": editeur.representant_titre,
        },
        "dsr": {"code": candidature.campagne.dsr.code, "title": candidature.campagne.dsr.title},
        "rem_version": {"label": candidature.rem_version.label},
        "profils": [profil.name for profil in candidature.profils.all()],
        "issued": format_paris_datetime(issued_at),
    }


def convention_pdf_from(data: dict) -> bytes:
    """The convention as shown to the signer, from its stored data."""
    return render_pdf("pdf/convention.html", data)


def convention_pdf(candidature: Candidature, *, issued_at: datetime) -> bytes:
    """The convention as shown to the signer, its signature still to come."""
    return convention_pdf_from(convention_data(candidature, issued_at))


def signed_convention_pdf(convention: Convention) -> bytes:
    """The same convention, its signature block filled in.

    Rendered from the data stored when the convention was issued, so that the body is
    the text the signer was shown. The convention need not be saved yet: the signing
    service renders it before storing it.
    """
    if not convention.is_signed:
        raise ValueError(f"La convention {convention.pk} n’est pas signée.")
    data = convention.data or convention_data(convention.candidature, convention.issued_at)
    return render_pdf(
        "pdf/convention.html",
        {**data, "convention": convention, "signed": format_paris_datetime(convention.signed_at)},
    )


# Procès-verbal


def _minutes_item(inscription, cnda) -> dict:
    decision = getattr(inscription, "decision", None)
    item = {
        "inscription": inscription,
        "candidature": inscription.candidature,
        "decision": None,
        "cnda": cnda,
    }
    if decision is None:
        return item
    reserves = [
        {
            "position": reserve.position,
            "text": reserve.text,
            "exigences": [exigence.identifier for exigence in reserve.exigences.all()],
        }
        for reserve in decision.reserves.all()
    ]
    non_bloquantes = decision.kind == DecisionKind.RESERVES_NON_BLOQUANTES
    return {
        **item,
        "decision": decision,
        "recorded": format_paris_datetime(decision.recorded_at),
        "recorded_by": _person(decision.recorded_by),
        "reserves": reserves,
        "non_bloquantes": non_bloquantes,
        "reserves_due": (
            due_display(decision.reserves_due_at)
            if non_bloquantes and decision.reserves_due_at
            else ""
        ),
    }


def minutes_pdf(seance: Seance) -> bytes:
    """The procès-verbal of a séance: members, conflicts of interest, then each agenda
    item with the state of its CNDA homologations, its decision and réserves. Nine
    queries, whatever the agenda's length."""
    seance = Seance.objects.select_related("opened_by", "closed_by").get(pk=seance.pk)
    membres = list(
        seance.membres.select_related("user").order_by("user__last_name", "user__first_name", "pk")
    )
    inscriptions = list(
        seance.inscriptions.select_related(
            "candidature__editeur", "candidature__campagne__dsr", "decision__recorded_by"
        ).prefetch_related(
            Prefetch(
                "conflits",
                queryset=ConflitInteret.objects.select_related("user").order_by(
                    "declared_at", "pk"
                ),
            ),
            Prefetch(
                "decision__reserves",
                queryset=Reserve.objects.order_by("position").prefetch_related(
                    Prefetch("exigences", queryset=Exigence.objects.order_by("position"))
                ),
            ),
        )
    )
    cnda = cnda_states(inscription.candidature for inscription in inscriptions)
    items = [
        _minutes_item(inscription, cnda[inscription.candidature_id]) for inscription in inscriptions
    ]
    conflits = [
        {
            "candidature": inscription.candidature,
            "membre": _person(conflit.user),
            "note": conflit.note,
            "declared": format_paris_datetime(conflit.declared_at),
        }
        for inscription in inscriptions
        for conflit in inscription.conflits.all()
    ]
    return render_pdf(
        "pdf/minutes.html",
        {
            "seance": seance,
            "date": french_date(seance.date, weekday=True),
            "opened": format_paris_datetime(seance.opened_at) if seance.opened_at else "",
            "opened_by": _person(seance.opened_by),
            "closed": format_paris_datetime(seance.closed_at) if seance.closed_at else "",
            "closed_by": _person(seance.closed_by),
            "presents": [_person(membre.user) for membre in membres if membre.present],
            "absents": [_person(membre.user) for membre in membres if not membre.present],
            "conflits": conflits,
            "items": items,
            "quorum": settings.COLLEGE_QUORUM,
            "decided": sum(
                1 for item in items if item["decision"] and not item["inscription"].deferred_reason
            ),
        },
    )


# Attestation


def attestation_pdf(attestation: Attestation, *, verify_url: str) -> bytes:
    """The attestation de référencement, with a QR code of its verification page.

    The code is a PNG at one pixel per module, drawn without smoothing: exact at any
    print size, and the same matrix segno gives for verify_url.
    """
    candidature = attestation.candidature
    return render_pdf(
        "pdf/attestation.html",
        {
            **_candidature_context(candidature),
            "attestation": attestation,
            "referenced_on": french_date(attestation.referenced_on),
            "issued": format_paris_datetime(attestation.issued_at),
            "verify_url": verify_url,
            "qr_data_uri": verification_qr(verify_url).png_data_uri(scale=1, border=QR_BORDER),
        },
    )
