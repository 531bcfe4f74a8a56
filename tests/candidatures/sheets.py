"""Small REM sheets for tests, written in the published layout."""

import csv
import io
from dataclasses import dataclass, field

from candidatures.rem_import.headers import PUBLISHED_COLUMNS

# The published layout, up to the second proof.
HEADER = PUBLISHED_COLUMNS[:15]


@dataclass
class Row:
    identifier: str
    statement: str = "Le système DOIT faire ceci."
    profile: str = "Général"
    nature: str = "EXIGENCE"
    scenario: str = ""
    scenario_text: str = "Vérifier que le système le fait."
    proofs: list[tuple[str, str]] = field(default_factory=list)
    id_section: str = "INS"
    section: str = "Gestion de l'INS"


def rem_csv(rows: list[Row]) -> io.BytesIO:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        proofs = [cell for proof in row.proofs[:2] for cell in proof]
        proofs += [""] * (4 - len(proofs))
        writer.writerow(
            [
                "NON",
                row.profile,
                row.id_section,
                row.section,
                "Bloc",
                "Fonction",
                row.nature,
                row.identifier,
                row.statement,
                row.scenario,
                row.scenario_text if row.scenario else "",
                *proofs,
            ]
        )
    return io.BytesIO(buffer.getvalue().encode("utf-8"))


def basic_rows() -> list[Row]:
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
            proofs=[("INS.01.02.01", "Justificatif de l'homologation CNDA")],
        ),
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
