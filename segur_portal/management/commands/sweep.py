from django.core.management.base import BaseCommand, CommandError

from segur_portal.models import PeriodicRun
from segur_portal.tasks import sweep


class Command(BaseCommand):
    help = (
        "Applique une fois tous les délais échus (sollicitations, rappels, fichiers et "
        "courriels en attente). Celery beat le fait chaque minute ; sans danger si on le "
        "relance."
    )

    def handle(self, *args, **options):
        # Run here, in this process; `.result` rather than `.get()`, which Celery refuses
        # in a process that also hosts a worker (its join guard is process-wide).
        results = sweep.apply(throw=True).result
        for name, count in results.items():
            self.stdout.write(f"{name} : {count}")
        errors = PeriodicRun.objects.get(name="sweep").last_error
        if errors:
            raise CommandError(f"Balayage incomplet :\n{errors}")
