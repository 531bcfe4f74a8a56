from django.db import migrations
from django.utils import timezone

CGU_V1 = """1. Objet

Les présentes conditions générales d'utilisation (CGU) encadrent l'usage du Portail de référencement Ségur, par lequel l'Agence du Numérique en Santé (ANS) instruit les demandes de référencement des logiciels au titre du volet numérique du Ségur de la santé. Leur acceptation ouvre l'espace de dépôt de la candidature administrative. Elles s'appliquent à chaque utilisateur agissant pour le compte d'un éditeur.

2. Comptes

Chaque utilisateur dispose d'un compte personnel, protégé par un mot de passe qu'il garde secret. Le premier utilisateur d'une entreprise en devient le mandataire : il invite ses collègues et ferme leurs accès. Les actes accomplis depuis un compte sont réputés accomplis par son titulaire pour le compte de l'entreprise.

3. Engagements de l'éditeur

Par le dépôt de sa candidature, l'éditeur s'engage à :
- proposer une version candidate assurant les fonctionnalités minimales requises par le dossier de spécifications de référencement (DSR) ;
- fournir des éléments de preuve reflétant de manière sincère et fidèle le fonctionnement du logiciel candidat ;
- respecter l'intégralité du processus de référencement décrit par le DSR ainsi que les termes de la convention de référencement ;
- ne transmettre aucune donnée de santé à caractère personnel : seules des données fictives ou anonymisées sont admises dans les preuves et les jeux de tests ;
- partager des preuves dénuées de tout risque pour la sécurité des systèmes d'information de l'ANS et de ses partenaires.
Le non-respect de ces engagements peut entraîner la suspension ou l'exclusion du processus d'instruction, ou le retrait d'un référencement octroyé.

4. Jalons et délais

La candidature suit les jalons de la campagne du DSR (J1 à J7) publiés sur le portail ; la candidature administrative doit être soumise une première fois avant le jalon 2 à 14 heures. Les demandes de l'ANS (sollicitations) sont faites et répondues dans le portail uniquement. En phase d'identification et d'éligibilité, une sollicitation restée sans réponse dans un délai de 5 jours ouvrés entraîne le rejet de la candidature. Pendant l'instruction des preuves, sans réponse dans les 24 heures le dossier perd sa place garantie dans la file d'attente, et sans réponse dans les 30 jours la demande est considérée comme abandonnée. Aucun échange n'est possible après le jalon 7. Les délais sont comptés selon les règles des articles 641 et 642 du code de procédure civile, sur les dates de Paris.

5. Confidentialité

L'ANS conserve comme strictement confidentielles les informations qu'elle recueille sur le logiciel candidat et les documents communiqués par l'éditeur, et reporte cette obligation sur les prestataires qu'elle mandate. Elle peut toutefois communiquer sur l'identité de l'éditeur et du logiciel dont la demande de référencement est en cours d'instruction ; la liste des versions du parc client déclarée par l'éditeur est publiée dès sa réception.

6. Convention de preuve

L'éditeur et l'ANS reconnaissent aux documents transmis par le portail la qualité de documents originaux et admettent leur force probante, sauf preuve contraire dûment rapportée, au même titre qu'un écrit sur support papier. Chaque fichier déposé est conservé avec son empreinte SHA-256, sa date de dépôt et l'identité de son auteur. Tout document transmis ou signé de manière dématérialisée sur le portail constitue une preuve littérale au sens des articles 1366 et suivants du code civil.

7. Données à caractère personnel

Les données des utilisateurs et des contacts des éditeurs sont traitées par l'ANS pour l'instruction et le suivi du référencement et du financement, dans les conditions décrites sur la page « Données personnelles » du portail.

8. Évolution des CGU

L'ANS peut faire évoluer les présentes CGU. Toute nouvelle version est soumise à l'acceptation des utilisateurs avant tout nouveau dépôt."""


def create_cgu(apps, schema_editor):
    Cgu = apps.get_model("candidatures", "Cgu")
    Cgu.objects.get_or_create(version="1.0", defaults={"text": CGU_V1, "published_at": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("candidatures", "0003_candidaturetransition_cgu_cguacceptance_and_more")]

    operations = [migrations.RunPython(create_cgu, migrations.RunPython.noop)]
