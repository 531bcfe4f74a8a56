"""Migration 0007 moves the existing attachments of sollicitation messages onto the
PROTECT through model, and gives them back when it is reversed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from candidatures.models import SollicitationMessageFichier
from candidatures.services.sollicitation import sollicitation_open
from tests.factories import CandidatureFactory, UserFactory
from tests.preuves import samples

BEFORE = ("candidatures", "0006_alter_candidature_state_and_more")
MIGRATION = ("candidatures", "0007_sollicitation_conversation")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_attachments_survive_the_migration_both_ways():
    sollicitation = sollicitation_open(
        candidature=CandidatureFactory(admin_soumise=True),
        actor=UserFactory(instructeur=True),
        text="Voyez les pièces.",
        files=[
            SimpleUploadedFile("a.pdf", samples.pdf_bytes()),
            SimpleUploadedFile("b.png", samples.png_bytes()),
        ],
    )
    message = sollicitation.messages.get()
    links = set(message.fichiers.values_list("pk", flat=True))
    assert len(links) == 2
    try:
        old_apps = _migrate([BEFORE])
        # Before 0007: the auto-created many-to-many table holds them.
        OldMessage = old_apps.get_model("candidatures", "SollicitationMessage")
        old = OldMessage.objects.get(pk=message.pk)
        assert set(old.fichiers.values_list("pk", flat=True)) == links
        assert old.at == message.sent_at
        new_apps = _migrate([MIGRATION])
        Link = new_apps.get_model("candidatures", "SollicitationMessageFichier")
        assert (
            set(Link.objects.filter(message_id=message.pk).values_list("fichier_id", flat=True))
            == links
        )
    finally:
        _migrate(_leaves())
    assert SollicitationMessageFichier.objects.filter(message=message).count() == 2
