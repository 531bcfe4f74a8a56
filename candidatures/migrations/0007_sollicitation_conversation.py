"""Sollicitations become conversations: a message's time is `sent_at`, an answered
sollicitation can be closed (closed_at, closed_by), and attachments hang on a through
model whose foreign key to the file is PROTECT, so that no exchanged file can be deleted
while a message refers to it.

The existing attachments (the auto-created many-to-many table) are copied into the new
through model before the old table is dropped; the questions and answers were already
messages (SollicitationMessage, since 0003)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

BATCH = 2000


def copy_attachments_forward(apps, schema_editor):
    SollicitationMessage = apps.get_model("candidatures", "SollicitationMessage")
    Link = apps.get_model("candidatures", "SollicitationMessageFichier")
    OldLink = SollicitationMessage._meta.get_field("fichiers_old").remote_field.through
    rows = OldLink.objects.order_by("pk").values_list("sollicitationmessage_id", "fichier_id")
    batch = []
    for message_id, fichier_id in rows.iterator(chunk_size=BATCH):
        batch.append(Link(message_id=message_id, fichier_id=fichier_id))
        if len(batch) == BATCH:
            Link.objects.bulk_create(batch)
            batch = []
    Link.objects.bulk_create(batch)


def copy_attachments_backward(apps, schema_editor):
    SollicitationMessage = apps.get_model("candidatures", "SollicitationMessage")
    Link = apps.get_model("candidatures", "SollicitationMessageFichier")
    OldLink = SollicitationMessage._meta.get_field("fichiers_old").remote_field.through
    OldLink.objects.bulk_create(
        OldLink(sollicitationmessage_id=message_id, fichier_id=fichier_id)
        for message_id, fichier_id in Link.objects.values_list("message_id", "fichier_id")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("candidatures", "0006_alter_candidature_state_and_more"),
        ("preuves", "0003_fichier_infectee"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="sollicitationmessage", old_name="at", new_name="sent_at"),
        migrations.AlterField(
            model_name="sollicitationmessage",
            name="sent_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="envoyé le"),
        ),
        migrations.AlterField(
            model_name="sollicitationmessage",
            name="author",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="auteur",
            ),
        ),
        migrations.AlterField(
            model_name="sollicitationmessage",
            name="from_agency",
            field=models.BooleanField(verbose_name="message de l’ANS"),
        ),
        migrations.AlterModelOptions(
            name="sollicitationmessage",
            options={
                "ordering": ["sent_at", "id"],
                "verbose_name": "message de sollicitation",
                "verbose_name_plural": "messages de sollicitation",
            },
        ),
        migrations.AddField(
            model_name="sollicitation",
            name="closed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="échange clos le"),
        ),
        migrations.AddField(
            model_name="sollicitation",
            name="closed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="clos par",
            ),
        ),
        migrations.AlterField(
            model_name="sollicitation",
            name="status",
            field=models.CharField(
                choices=[
                    ("ouverte", "En attente de réponse de l’éditeur"),
                    ("repondue", "Répondue, échange en cours"),
                    ("expiree", "Close sans réponse"),
                    ("close", "Close"),
                ],
                default="ouverte",
                max_length=20,
                verbose_name="statut",
            ),
        ),
        migrations.AddIndex(
            model_name="sollicitation",
            index=models.Index(
                condition=models.Q(("status", "repondue")),
                fields=["closes_at"],
                name="sollicitation_answered_closes",
            ),
        ),
        # Attachments: from the auto-created table to a through model with PROTECT.
        migrations.RenameField(
            model_name="sollicitationmessage", old_name="fichiers", new_name="fichiers_old"
        ),
        migrations.CreateModel(
            name="SollicitationMessageFichier",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "fichier",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="preuves.fichier",
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="candidatures.sollicitationmessage",
                    ),
                ),
            ],
            options={
                "verbose_name": "pièce jointe d’un message de sollicitation",
                "verbose_name_plural": "pièces jointes des messages de sollicitation",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("message", "fichier"), name="sollicitation_message_fichier_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(copy_attachments_forward, copy_attachments_backward),
        migrations.RemoveField(model_name="sollicitationmessage", name="fichiers_old"),
        migrations.AddField(
            model_name="sollicitationmessage",
            name="fichiers",
            field=models.ManyToManyField(
                blank=True,
                related_name="+",
                through="candidatures.SollicitationMessageFichier",
                to="preuves.fichier",
                verbose_name="pièces jointes",
            ),
        ),
    ]
