"""`manage.py verifier_pdf FICHIER.pdf…`: the verification page's checks, offline.

Each PDF's seal is checked with pyHanko against the portal's trusted roots (nothing is
fetched), then its SHA-256 is looked up among the documents the portal issued. Exit code
1 when any file fails a check.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from college.models import Attestation
from college.selectors import attestation_is_valid
from preuves.models import Fichier
from segur_portal.clocks import format_paris_datetime
from segur_portal.seal import seal_verify


class Command(BaseCommand):
    help = (
        "Vérifie le cachet électronique (intégrité, signataire, horodatage, absence de "
        "modification) et l’empreinte enregistrée de PDF délivrés par le portail."
    )

    def add_arguments(self, parser):
        parser.add_argument("fichiers", nargs="+", metavar="FICHIER.pdf")
        parser.add_argument(
            "--cachet-seul",
            action="store_true",
            help="Ne vérifie que le cachet, sans chercher l’empreinte dans la base du portail.",
        )

    def handle(self, *args, fichiers, cachet_seul, **options):
        failed = [path for path in fichiers if not self._verify(Path(path), cachet_seul)]
        if failed:
            raise CommandError(f"Document(s) non valide(s) : {', '.join(failed)}")

    def _verify(self, path: Path, seal_only: bool) -> bool:
        self.stdout.write(self.style.MIGRATE_HEADING(str(path)))
        try:
            content = path.read_bytes()
        except OSError as error:
            self.stdout.write(self.style.ERROR(f"  ✗ Fichier illisible : {error.strerror}"))
            return False
        report = seal_verify(content)
        self.stdout.write(f"  Empreinte SHA-256 : {report.sha256}")
        if report.signer:
            self.stdout.write(f"  Motif du cachet : {report.reason}")
        for check in report.checks:
            self._line(check.ok, check.label, check.detail)
        valid = report.valid
        if not seal_only:
            known, detail = self._stored(report.sha256)
            self._line(known, "Empreinte enregistrée", detail)
            valid = valid and known
        verdict = "Document valide." if valid else "Document NON valide."
        self.stdout.write(
            self.style.SUCCESS(f"  {verdict}") if valid else self.style.ERROR(f"  {verdict}")
        )
        return valid

    def _line(self, ok: bool, label: str, detail: str) -> None:
        line = f"  {'✓' if ok else '✗'} {label} — {detail}"
        self.stdout.write(self.style.SUCCESS(line) if ok else self.style.ERROR(line))

    def _stored(self, sha256: str) -> tuple[bool, str]:
        fichier = Fichier.objects.filter(sha256=sha256).order_by("uploaded_at").first()
        if fichier is None:
            return False, "aucun document du portail n’a cette empreinte."
        detail = (
            f"document enregistré le {format_paris_datetime(fichier.uploaded_at)} "
            f"({fichier.original_name})"
        )
        attestation = (
            Attestation.objects.select_related("candidature").filter(fichier=fichier).first()
        )
        if attestation is not None:
            state = "valide" if attestation_is_valid(attestation) else "plus valide"
            detail += f", attestation n° {attestation.numero}, {state} à ce jour"
        return True, detail
