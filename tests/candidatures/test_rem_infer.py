import pytest

from candidatures.enums import ProofKind
from candidatures.rem_import import DEFAULT_RULE, infer_proof_kind
from candidatures.rem_import.infer import DEFAULT_KIND, RULES


# Wordings taken from the real wave-2 REMs (shared/realdata), with the kind they ask for.
@pytest.mark.parametrize(
    ("text", "kind", "rule"),
    [
        (
            "Démonstration (vidéo ou copies d'écran) montrant le déroulé des étapes du scénario",
            ProofKind.VIDEO_CAPTURE,
            "video",
        ),
        ("Copies d'écran ou vidéo de la séquence", ProofKind.VIDEO_CAPTURE, "video"),
        (
            "Copie d'écran du courriel permettant de vérifier l'application des règles",
            ProofKind.VIDEO_CAPTURE,
            "copie_ecran",
        ),
        ("Capture d’écran de la mire de connexion", ProofKind.VIDEO_CAPTURE, "capture"),
        (
            "Montrer l’historique des flux de transmissions et d'actions effectuées",
            ProofKind.VIDEO_CAPTURE,
            "montrer",
        ),
        ("[INTEROP] Lien vers l'Espace de Test Gazelle", ProofKind.LIEN_RAPPORT, "espace_de_test"),
        (
            "Identifiant de l'exécution du cas de test MSS-LPS-SEGUR-GEN accessible par exemple "
            'dans la vue "Activités" de l\'outil de tests éditeurs MSSanté.',
            ProofKind.LIEN_RAPPORT,
            "execution_cas_de_test",
        ),
        ("Rapport de validation du document CDA", ProofKind.LIEN_RAPPORT, "rapport"),
        ("Log des transactions TD0.2 et TD0.3", ProofKind.FICHIER, "log"),
        (
            "Traces du système démontrant la recherche initiale puis le contrôle périodique",
            ProofKind.FICHIER,
            "log",
        ),
        ("Archive IHE XDM intégrée dans le logiciel", ProofKind.FICHIER, "fichier"),
        ("Dump TBB de la base", ProofKind.FICHIER, "fichier"),
        (
            "Message SOAP contenant le jeton VIHF de l'utilisateur PS n°1",
            ProofKind.FICHIER,
            "message_technique",
        ),
        ("Source SMTP du message émis", ProofKind.FICHIER, "message_technique"),
        ("Extrait de configuration TLS", ProofKind.FICHIER, "extrait"),
        (
            "Extrait du code qui permet de conserver la derniére CRL valide",
            ProofKind.FICHIER,
            "extrait",
        ),
        (
            "Le certificat valide et le certificat révoqué utilisés pour dérouler le scénario",
            ProofKind.FICHIER,
            "certificat_technique",
        ),
        ("Compte rendu d'examen de biologie au format CDA", ProofKind.COMPTE_RENDU, "compte_rendu"),
        ("Compte-rendu d'imagerie produit", ProofKind.COMPTE_RENDU, "compte_rendu"),
        ("CR de biologie transmis au DMP", ProofKind.COMPTE_RENDU, "compte_rendu"),
        ("Justificatif de l'homologation CNDA pour le DMP", ProofKind.JUSTIFICATIF, "justificatif"),
        (
            "Formulaire du test d'intrusion dûment complété et signé par un auditeur PASSI",
            ProofKind.JUSTIFICATIF,
            "justificatif",
        ),
        (
            "PAS (Plan d'Assurance de Sécurité), précisant les propositions de mesures",
            ProofKind.JUSTIFICATIF,
            "justificatif",
        ),
        (
            "Matrice des flux spécifiant les flux essentiels au fonctionnement du système",
            ProofKind.JUSTIFICATIF,
            "justificatif",
        ),
        (
            "Le cas échéant, certificat ou garanties de fiabilité du service PVID",
            ProofKind.JUSTIFICATIF,
            "justificatif",
        ),
        (
            "Attestation sur l'honneur décrivant qu'un processus de veille est défini",
            ProofKind.JUSTIFICATIF,
            "sur_l_honneur",
        ),
        (
            "CAS 1 :Déclaration sur l'honneur de l'utilisation d'une base de médicaments "
            "Copies d'écran de l'adhésion à l'association Médicabase",
            ProofKind.JUSTIFICATIF,
            "sur_l_honneur",
        ),
    ],
)
def test_infer_proof_kind_real_wordings(text, kind, rule):
    assert infer_proof_kind(text) == (kind, rule)


@pytest.mark.parametrize(
    "text",
    [
        "Le TYPE_DE_DOCUMENT correspondant",
        "[Si modalité de type : Application native avec navigateur interne] Nom des librairies "
        "et versions utilisées\nDate de la dernière version des librairies",
        "",
    ],
)
def test_infer_proof_kind_unknown_wording_falls_to_default(text):
    assert infer_proof_kind(text) == (DEFAULT_KIND, DEFAULT_RULE)
    assert DEFAULT_KIND == ProofKind.JUSTIFICATIF


def test_infer_proof_kind_par_rapport_is_not_a_report():
    assert infer_proof_kind("Procédure décrite par rapport au guide") == (
        ProofKind.JUSTIFICATIF,
        "justificatif",
    )


def test_infer_proof_kind_cr_inside_a_test_case_name_is_not_a_report():
    assert infer_proof_kind("Identifiant du test CI-SIS-CR-VIL-N1") == (
        DEFAULT_KIND,
        DEFAULT_RULE,
    )


def test_infer_proof_kind_ignores_case_and_accents():
    assert infer_proof_kind("VIDÉO DE LA SÉQUENCE") == (ProofKind.VIDEO_CAPTURE, "video")
    assert infer_proof_kind("demonstration de la sequence") == (
        ProofKind.VIDEO_CAPTURE,
        "demonstration",
    )


def test_infer_proof_kind_first_rule_wins():
    # Both a screenshot and a log are named: the rule table's order decides.
    assert infer_proof_kind("Copie d'écran et log de l'appel")[0] == ProofKind.VIDEO_CAPTURE


def test_infer_proof_kind_rules_have_unique_names():
    names = [name for name, _kind, _pattern in RULES]
    assert len(names) == len(set(names))
    assert DEFAULT_RULE not in names
