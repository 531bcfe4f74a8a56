from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from candidatures.enums import Perimetre
from candidatures.models import Dsr
from candidatures.selectors.referentiel import rem_counts
from candidatures.services.referentiel import rem_version_import, rem_version_publish


class Command(BaseCommand):
    help = (
        "Importe une feuille REM (.xlsx ou .csv) pour un DSR. Sans erreur, la version est "
        "enregistrée en brouillon (ou publiée avec --publish) ; avec la moindre erreur, rien "
        "n’est enregistré et la commande échoue en listant les erreurs."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="la feuille REM")
        parser.add_argument("--dsr", required=True, help="code du DSR, par exemple MDV-LGC-Va2")
        parser.add_argument("--label", help="nom de la version (par défaut : import du jour)")
        parser.add_argument("--publish", action="store_true", help="publier la version importée")
        parser.add_argument(
            "--perimetre",
            choices=Perimetre.values,
            default=Perimetre.VAGUE_2,
            help="périmètre d’une feuille sans onglet Vague 1 / Vague 2",
        )
        parser.add_argument("--rem", default="", help="REM retenu d’un fichier multi-REM")
        parser.add_argument("--published-on", type=date.fromisoformat, help="AAAA-MM-JJ")

    def handle(self, *args, file: Path, dsr: str, label, publish, perimetre, rem, **options):
        try:
            dsr_obj = Dsr.objects.get(code=dsr)
        except Dsr.DoesNotExist as error:
            raise CommandError(f"DSR inconnu : {dsr}") from error
        if not file.is_file():
            raise CommandError(f"Fichier introuvable : {file}")
        label = label or f"Import du {timezone.localtime():%d/%m/%Y %H:%M}"
        with file.open("rb") as handle:
            try:
                result = rem_version_import(
                    dsr=dsr_obj,
                    file=handle,
                    filename=file.name,
                    label=label,
                    published_on=options["published_on"],
                    default_perimetre=perimetre,
                    rem=rem,
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        if result.version is None:
            for issue in result.parsed.errors:
                self.stderr.write(str(issue))
            raise CommandError(f"{len(result.parsed.errors)} erreur(s) : rien n’a été enregistré.")
        version = result.version
        if publish:
            version = rem_version_publish(version=version)
        counts = rem_counts(version)
        state = "publiée" if version.is_published else "enregistrée en brouillon"
        self.stdout.write(self.style.SUCCESS(f"REM {dsr} « {version.label} » {state}."))
        self.stdout.write(
            f"{counts.exigences} exigences, {counts.scenarios} scénarios, "
            f"{counts.preuves} preuves attendues ; {version.skipped_obsolete} ligne(s) "
            "obsolète(s) ignorée(s)."
        )
        for name, count in counts.by_profile:
            self.stdout.write(f"  profil {name} : {count}")
        for name, count in [*counts.by_nature.items(), *counts.by_perimetre.items()]:
            self.stdout.write(f"  {name} : {count}")
        for name, count in counts.by_kind.items():
            self.stdout.write(f"  preuves « {name} » : {count}")
        self.stdout.write(f"  preuves au type par défaut : {counts.kinds_by_default}")
        for warning in version.warnings:
            self.stdout.write(self.style.WARNING(f"Avertissement : {warning}"))
