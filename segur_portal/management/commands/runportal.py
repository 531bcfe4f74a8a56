from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from segur_portal.celery import app
from segur_portal.scheduler import InProcessBeat


class Command(RunserverCommand):
    help = (
        "Lance le portail en mode embarqué (serveur de développement) avec les tâches "
        "périodiques exécutées dans le processus."
    )

    def inner_run(self, *args, **options):
        # inner_run executes in the serving process only (the autoreloader's child),
        # so exactly one beat ticks.
        if settings.CELERY_TASK_ALWAYS_EAGER:
            InProcessBeat(app).start()
            self.stdout.write("Tâches périodiques : exécutées dans ce processus, chaque minute.")
        else:
            self.stdout.write("Tâches périodiques : confiées à `celery beat` (REDIS_URL défini).")
        super().inner_run(*args, **options)
