from django.apps import AppConfig


class SegurPortalConfig(AppConfig):
    name = "segur_portal"
    verbose_name = "Portail (comptes et notifications)"
