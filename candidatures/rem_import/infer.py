"""The kind of an expected proof, guessed from the REM's wording.

The kind decides the formats and size accepted at deposit (candidatures.proof_kinds).
Rules are tried in order on the text lower-cased without accents; the first that
matches wins. They were tuned on the wording of the real wave-2 REMs: a text that
offers alternatives ("vidéo ou copies d'écran", "CAS 1 … OU CAS 2 …") takes the kind
of its first matching rule, so the order matters.
"""

import functools
import re

from candidatures.enums import ProofKind
from candidatures.rem_import.model import DEFAULT_RULE
from candidatures.rem_import.text import fold

DEFAULT_KIND = ProofKind.JUSTIFICATIF

# (rule name, kind, pattern on the folded text)
RULES: list[tuple[str, ProofKind, re.Pattern]] = [
    (name, kind, re.compile(pattern))
    for name, kind, pattern in [
        # A sworn statement is a signed document, even when it offers screenshots as an
        # alternative ("Déclaration sur l'honneur … Copies d'écran de l'adhésion …").
        ("sur_l_honneur", ProofKind.JUSTIFICATIF, r"\b(?:attestation|declaration) sur l'honneur"),
        ("video", ProofKind.VIDEO_CAPTURE, r"\bvideos?\b"),
        ("capture", ProofKind.VIDEO_CAPTURE, r"\bcaptures?\b"),
        ("copie_ecran", ProofKind.VIDEO_CAPTURE, r"\bcopies? (?:d'|de l')?ecrans?\b"),
        ("demonstration", ProofKind.VIDEO_CAPTURE, r"\bdemonstrations?\b"),
        ("montrer", ProofKind.VIDEO_CAPTURE, r"\bmontrer\b"),
        ("espace_de_test", ProofKind.LIEN_RAPPORT, r"\bespaces? de tests?\b|\bgazelle\b"),
        (
            "execution_cas_de_test",
            ProofKind.LIEN_RAPPORT,
            r"\bidentifiant de l'execution du cas de test\b",
        ),
        ("lien", ProofKind.LIEN_RAPPORT, r"\bliens?\b"),
        # "par rapport à" is not a report.
        ("rapport", ProofKind.LIEN_RAPPORT, r"(?<!par )\brapports?\b"),
        ("log", ProofKind.FICHIER, r"\blogs?\b|\btraces?\b|\bjournal\b"),
        ("fichier", ProofKind.FICHIER, r"\bfichiers?\b|\bdumps?\b|\btbb\b|\barchive\b"),
        ("message_technique", ProofKind.FICHIER, r"\bmessages? soap\b|\bsmtp\b|\brequetes?\b"),
        ("extrait", ProofKind.FICHIER, r"\bextraits? (?:de|du|des)\b"),
        # A technical certificate (X.509 file); a certification (HDS, CNDA) is a document.
        (
            "certificat_technique",
            ProofKind.FICHIER,
            r"\bcertificats? (?:valides?|revoques?|x\.?509|serveurs?|clients?|tls|ssl)\b"
            r"|\bchaine de certification\b|\bcrl\b",
        ),
        ("compte_rendu", ProofKind.COMPTE_RENDU, r"\bcomptes?[ -]rendus?\b|(?<![\w-])cr(?![\w-])"),
        (
            "justificatif",
            ProofKind.JUSTIFICATIF,
            r"\bjustificatifs?\b|\bhomologation\b|\battestations?\b|\bcnda\b|\bengagements?\b"
            r"|\bformulaires?\b|\bpssi\b|\bpas \(|\bplan d'assurance\b|\bdocumentations?\b"
            r"|\bprocedures?\b|\bdocuments?\b|\bmatrices?\b|\bpolitiques?\b|\bdossiers?\b"
            r"|\btableaux?\b|\blistes?\b|\bdescriptions?\b|\bdeclarations?\b|\bagrements?\b"
            r"|\bcertifica(?:ts?|tions?)\b|\bcontrats?\b|\blettres?\b|\bprocessus\b",
        ),
    ]
]


def infer_proof_kind(text: str) -> tuple[ProofKind, str]:
    """The kind of proof a wording asks for, and the name of the rule that said so
    (DEFAULT_RULE when none did)."""
    return _infer(text)


# A REM repeats a handful of wordings hundreds of times.
@functools.lru_cache(maxsize=4096)
def _infer(text: str) -> tuple[ProofKind, str]:
    folded = fold(text).replace("\u2019", "'")
    for name, kind, pattern in RULES:
        if pattern.search(folded):
            return kind, name
    return DEFAULT_KIND, DEFAULT_RULE
