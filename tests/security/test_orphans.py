"""A refused file in a batch leaves nothing on storage, and the sweep removes the
objects a crash leaves behind."""

import os
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from preuves import depot
from preuves.models import Depot, Fichier, storage_name_for
from preuves.services import storage_orphans_sweep
from tests.factories import company_user
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


def _stored(media_root) -> list:
    folder = media_root / "fichiers"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_batch_whose_third_file_is_refused_leaves_no_object(media_root):
    candidature = eligible_candidature()
    item = next(i for i in depot.dossier(candidature).items if not i.accepts_url)
    member = company_user(candidature.editeur)
    uploads = [
        SimpleUploadedFile("un.pdf", b"%PDF-1.4 un"),
        SimpleUploadedFile("deux.pdf", b"%PDF-1.4 deux"),
        SimpleUploadedFile("vide.pdf", b""),
    ]
    with pytest.raises(ValidationError, match="Fichier vide"):
        depot.depot_add_files(candidature=candidature, item=item, uploads=uploads, actor=member)
    assert Depot.objects.count() == 0
    assert Fichier.objects.count() == 0
    assert _stored(media_root) == []


def test_a_batch_that_succeeds_keeps_its_objects(media_root):
    candidature = eligible_candidature()
    item = next(i for i in depot.dossier(candidature).items if not i.accepts_url)
    uploads = [SimpleUploadedFile(f"{n}.pdf", b"%PDF-1.4 " + n.encode()) for n in ("a", "b")]
    depot.depot_add_files(
        candidature=candidature,
        item=item,
        uploads=uploads,
        actor=company_user(candidature.editeur),
    )
    assert len(_stored(media_root)) == 2 == Fichier.objects.count()


def _orphan(age: timedelta) -> str:
    name = default_storage.save(storage_name_for(uuid.uuid4()), ContentFile(b"orphelin"))
    then = (timezone.now() - age).timestamp()
    os.utime(default_storage.path(name), (then, then))
    return name


def test_the_sweep_removes_old_orphans_only(media_root):
    old = _orphan(timedelta(days=2))
    young = _orphan(timedelta(hours=2))
    referenced = FichierFactory()
    then = (timezone.now() - timedelta(days=5)).timestamp()
    os.utime(default_storage.path(referenced.storage_name), (then, then))
    now = timezone.now()
    removed = sum(
        storage_orphans_sweep(now=now, shard=shard)
        for shard in {old.split("/")[1], young.split("/")[1], referenced.storage_name.split("/")[1]}
    )
    assert removed == 1
    assert not default_storage.exists(old)
    assert default_storage.exists(young)
    assert default_storage.exists(referenced.storage_name)
    # Idempotent: a second pass finds nothing more.
    assert storage_orphans_sweep(now=now, shard=old.split("/")[1]) == 0


def test_the_sweep_visits_one_shard_a_run(media_root):
    name = _orphan(timedelta(days=2))
    shard = name.split("/")[1]
    other = f"{(int(shard, 16) + 1) % 256:02x}"
    assert storage_orphans_sweep(now=timezone.now(), shard=other) == 0
    assert default_storage.exists(name)


def test_the_sweep_on_an_empty_storage(media_root):
    assert storage_orphans_sweep(now=timezone.now()) == 0
