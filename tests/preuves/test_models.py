import pytest
from django.apps import apps
from django.db import IntegrityError, models
from django.utils import timezone

from preuves.enums import FichierStatus
from preuves.models import Fichier
from tests.preuves.factories import FichierFactory

OUR_APPS = ["segur_portal", "candidatures", "preuves", "college"]


def test_every_foreign_key_to_a_fichier_protects_it():
    """A file something refers to is an original: it is never deleted along the way."""
    offenders = [
        f"{model.__name__}.{field.name}"
        for app_label in OUR_APPS
        for model in apps.get_app_config(app_label).get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.OneToOneField)
        and field.related_model is Fichier
        and field.remote_field.on_delete is not models.PROTECT
    ]
    assert offenders == []


@pytest.mark.django_db
def test_a_refused_file_needs_a_reason():
    with pytest.raises(IntegrityError):
        FichierFactory(status=FichierStatus.REFUSEE, checked_at=timezone.now())


@pytest.mark.django_db
def test_a_decided_file_needs_its_check_time():
    with pytest.raises(IntegrityError):
        FichierFactory(status=FichierStatus.ACCEPTEE)
