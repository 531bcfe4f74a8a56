from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from preuves.clamd_daemon import embedded_antivirus
from segur_portal.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = (
        "Crée (ou remet à zéro) les comptes et données de démonstration. "
        "Refusé si DEBUG est éteint."
    )

    def handle(self, *args, **options):
        try:
            # The demo's files are checked like any other, antivirus included: before
            # `runportal` starts its clamd, this command starts one of its own.
            with embedded_antivirus(settings.VAR_DIR / "clamd"):
                accounts = seed_demo()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS("Comptes de démonstration prêts :"))
        width = max(len(account.email) for account in accounts)
        for account in accounts:
            self.stdout.write(f"  {account.email:<{width}}  {account.label}")
        self.stdout.write(f"Mot de passe de tous les comptes : {DEMO_PASSWORD}")
