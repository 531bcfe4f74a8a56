"""System checks of the portal's own settings, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def seal_is_not_the_demonstration(app_configs, **kwargs):
    """SEAL_DEMO lets the production shape run with a CA made on the spot (the tests do);
    a deployment must not: its documents would be sealed by a CA no one recognises."""
    if settings.SEAL_DEMO:
        return [
            checks.Error(
                "SEAL_DEMO est actif : les PDF seraient scellés par l’AC de démonstration.",
                hint="Configurez SEAL_PKCS12_PATH (ou SEAL_PKCS11_MODULE), SEAL_TSA_URL et "
                "SEAL_TRUST_ROOTS_PATH, et retirez SEAL_DEMO.",
                id="segur.E001",
            )
        ]
    return []
