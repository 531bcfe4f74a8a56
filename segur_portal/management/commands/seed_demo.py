from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from segur_portal.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = (
        "Crée (ou remet à zéro) les comptes et données de démonstration. "
        "Refusé si DEBUG est éteint."
    )

    def handle(self, *args, **options):
        try:
            accounts = seed_demo()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS("Comptes de démonstration prêts :"))
        width = max(len(account.email) for account in accounts)
        for account in accounts:
            self.stdout.write(f"  {account.email:<{width}}  {account.label}")
        self.stdout.write(f"Mot de passe de tous les comptes : {DEMO_PASSWORD}")
