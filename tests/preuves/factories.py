import hashlib
import uuid

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from factory.django import DjangoModelFactory

from candidatures.proof_kinds import MO
from preuves.enums import FichierStatus
from preuves.models import Fichier, storage_name_for
from segur_portal.enums import CompanyRole, Role
from tests.factories import EditeurFactory, UserFactory
from tests.preuves import samples


class FichierFactory(DjangoModelFactory):
    """A stored file: `content` is written to the default storage under the file's key."""

    class Meta:
        model = Fichier

    class Params:
        accepted = factory.Trait(
            status=FichierStatus.ACCEPTEE,
            detected_mime="application/pdf",
            checked_at=factory.LazyFunction(timezone.now),
        )
        refused = factory.Trait(
            status=FichierStatus.REFUSEE,
            detected_mime="text/html",
            refusal_reason=(
                "Format refusé : le contenu du fichier est de type text/html (page HTML) ; "
                "formats acceptés : application/pdf (PDF)."
            ),
            checked_at=factory.LazyFunction(timezone.now),
        )
        # Uploaded by an agent, for the agency itself.
        agency = factory.Trait(
            editeur=None, uploaded_by=factory.SubFactory(UserFactory, role=Role.INSTRUCTEUR)
        )

    id = factory.LazyFunction(uuid.uuid4)
    storage_name = factory.LazyAttribute(lambda o: storage_name_for(o.id))
    content = factory.LazyFunction(samples.pdf_bytes)
    original_name = "compte-rendu.pdf"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    allowed_mime_types = ["application/pdf"]
    max_bytes = 10 * MO
    editeur = factory.SubFactory(EditeurFactory)
    uploaded_by = factory.SubFactory(
        UserFactory,
        role=Role.EDITEUR,
        editeur=factory.SelfAttribute("..editeur"),
        company_role=CompanyRole.SALARIE,
    )

    @classmethod
    def _build(cls, model_class, *args, content, **kwargs):
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, content, **kwargs):
        kwargs["storage_name"] = default_storage.save(kwargs["storage_name"], ContentFile(content))
        return super()._create(model_class, *args, **kwargs)
