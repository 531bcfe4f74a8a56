from django.apps import AppConfig


class SegurPortalConfig(AppConfig):
    name = "segur_portal"
    verbose_name = "Portail (comptes et notifications)"

    def ready(self):
        # Registers the deployment checks.
        import segur_portal.checks  # noqa: F401
