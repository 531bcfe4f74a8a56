import atexit
import socket

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from preuves.clamd_daemon import clamd_start
from segur_portal.celery import app
from segur_portal.scheduler import InProcessBeat

# A server bound to these answers on every interface of the machine.
WILDCARD_ADDRESSES = {"0.0.0.0", "::"}


def bound_site_url(addr: str, port: str) -> tuple[str, str]:
    """The portal's address (and its host) from the address the server binds: links then
    lead back to this server. On a wildcard bind, the machine's name."""
    host = socket.getfqdn() if addr in WILDCARD_ADDRESSES else addr
    netloc = f"[{host}]" if ":" in host else host
    return f"http://{netloc}:{port}", netloc


class Command(RunserverCommand):
    help = (
        "Lance le portail en mode embarqué (serveur de développement) avec les tâches "
        "périodiques exécutées dans le processus."
    )

    def inner_run(self, *args, **options):
        if settings.SITE_URL_FROM_BIND:
            settings.SITE_URL, host = bound_site_url(self.addr, self.port)
            # The links name this host: the portal must answer to it.
            if host not in settings.ALLOWED_HOSTS:
                settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, host]
        self.stdout.write(
            f"Liens des courriels, QR codes et documents : {settings.SITE_URL} "
            "(SITE_URL pour en choisir un autre)."
        )
        # inner_run executes in the serving process only (the autoreloader's child),
        # so exactly one beat ticks.
        if settings.CELERY_TASK_ALWAYS_EAGER:
            InProcessBeat(app).start()
            self.stdout.write("Tâches périodiques : exécutées dans ce processus, chaque minute.")
        else:
            self.stdout.write("Tâches périodiques : confiées à `celery beat` (REDIS_URL défini).")
        if not (settings.CLAMD_SOCKET or settings.CLAMD_HOST):
            # The embedded antivirus: a clamd on the signatures of fixtures/clamav/.
            process, socket_path = clamd_start(settings.VAR_DIR / "clamd")
            atexit.register(process.terminate)
            settings.CLAMD_SOCKET = str(socket_path)
            self.stdout.write(f"Antivirus : clamd local ({socket_path}).")
        super().inner_run(*args, **options)
