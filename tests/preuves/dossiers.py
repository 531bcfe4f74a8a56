"""Eligible candidatures with a real REM behind them, for deposit and instruction tests."""

from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from candidatures.services.referentiel import rem_version_import, rem_version_publish
from preuves.depot import dossier
from preuves.enums import FichierStatus
from preuves.models import Depot
from tests.candidatures.sheets import Row, rem_csv
from tests.factories import (
    CampagneFactory,
    CandidatureFactory,
    DsrFactory,
    UserFactory,
    company_user,
)
from tests.preuves.factories import FichierFactory


def rem_rows() -> list[Row]:
    return [
        Row(
            "INS.01",
            scenario="INS.01.01",
            proofs=[
                ("INS.01.01.01", "Vidéo montrant la saisie"),
                ("INS.01.01.02", "Log des appels"),
            ],
        ),
        Row(
            "INS.01",
            scenario="INS.01.02",
            proofs=[("INS.01.02.01", "Justificatif de l'homologation CNDA pour le DMP")],
        ),
        Row(
            "GAZ.05",
            statement="Le système DOIT réussir les tests Gazelle.",
            scenario="GAZ.05.01",
            proofs=[("GAZ.05.01.01", "Lien vers le rapport de l'espace de test Gazelle")],
            id_section="GAZ",
            section="Interopérabilité",
        ),
        Row("SSI.07", statement="Le système DOIT chiffrer.", id_section="SSI", section="Sécurité"),
        Row(
            "DMP.02",
            statement="Le système DOIT alimenter le DMP.",
            profile="Médecin traitant",
            scenario="DMP.02.01",
            proofs=[("DMP.02.01.01", "Copies d'écran de la séquence")],
            id_section="DMP",
            section="Dossier médical partagé",
        ),
        Row("PREC.03", statement="Le système PEUT afficher une aide.", nature="PRECONISATION"),
    ]


def published_rem(dsr=None, rows=None):
    dsr = dsr or DsrFactory()
    admin = UserFactory(admin=True)
    version = rem_version_import(
        dsr=dsr, file=rem_csv(rows or rem_rows()), filename="REM.csv", label="v1", actor=admin
    ).version
    return rem_version_publish(version=version, actor=admin)


def eligible_candidature(**kwargs):
    """An eligible candidature on a published REM: Général only unless told otherwise."""
    version = published_rem()
    return CandidatureFactory(
        eligible=True,
        campagne__dsr=version.dsr,
        rem_version=version,
        cnda_homologation="certifie",
        **kwargs,
    )


DRIMBOX_REM = (
    Path(settings.BASE_DIR) / "fixtures" / "rem" / "ans_rem_va2_drimbox_prepub_exigences.csv"
)
# The real DRIMbox REM with the Général profile only: 189 requirements, 202 expected
# proofs (157 without a listed proof), as the issue measured it.
DRIMBOX_EXPECTED = 202


def drimbox_candidature(**kwargs):
    """An eligible candidature on the real DRIMbox REM (RAD-DRIMBOX-Va2), published."""
    from candidatures.models import Dsr, RemVersion

    call_command("loaddata", Path(settings.BASE_DIR) / "fixtures" / "referentiel.json", verbosity=0)
    dsr = Dsr.objects.get(code="RAD-DRIMBOX-Va2")
    version = RemVersion.objects.filter(dsr=dsr, status="published").first()
    if version is None:
        admin = UserFactory(admin=True)
        with DRIMBOX_REM.open("rb") as handle:
            version = rem_version_import(
                dsr=dsr, file=handle, filename=DRIMBOX_REM.name, label="IT4", actor=admin
            ).version
        version = rem_version_publish(version=version, actor=admin)
    return CandidatureFactory(
        eligible=True,
        campagne=CampagneFactory(dsr=dsr),
        rem_version=version,
        cnda_homologation="certifie",
        **kwargs,
    )


def deposit_everything(candidature, actor=None):
    """An accepted file (or link) for every item of the dossier."""
    actor = actor or candidature.editeur.members.first() or company_user(candidature.editeur)
    for item in dossier(candidature).items:
        if item.accepts_url:
            Depot.objects.create(candidature=candidature, exigence=item.exigence,
                                 preuve_attendue=item.preuve, url="https://gazelle.example/rapport/1",
                                 deposited_by=actor)  # fmt: skip
        else:
            Depot.objects.create(
                candidature=candidature,
                exigence=item.exigence,
                preuve_attendue=item.preuve,
                fichier=FichierFactory(
                    editeur=candidature.editeur, status=FichierStatus.ACCEPTEE, accepted=True
                ),
                deposited_by=actor,
            )


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)
