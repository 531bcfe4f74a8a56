from django.core.management.base import BaseCommand, CommandError

from segur_portal.journal import journal_verify


class Command(BaseCommand):
    help = (
        "Recalcule la chaîne du journal depuis sa première entrée, puis la racine de Merkle "
        "et l’empreinte de chaque jour clos (et leur jeton d’horodatage), et nomme la "
        "première entrée qui ne correspond pas. Code de sortie 1 dans ce cas."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sans-horodatage",
            action="store_true",
            help="Ne pas vérifier les jetons d’horodatage RFC 3161 des jours clos.",
        )

    def handle(self, *args, **options):
        check = journal_verify(check_timestamps=not options["sans_horodatage"])
        if not check.ok:
            where = f"Entrée n°{check.seq}" if check.seq is not None else "Journal"
            raise CommandError(
                f"{where} : {check.problem}. (Lues : {check.entries} "
                f"entrée(s), {check.days} jour(s) clos.)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal intact : {check.entries} entrée(s) chaînée(s), {check.days} jour(s) "
                "clos dont la racine et l’empreinte correspondent."
            )
        )
