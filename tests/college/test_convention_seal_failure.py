"""The convention is signed only if the portal's seal can be put on the signed document:
with the timestamping service unreachable, the editor is told, nothing is signed, and the
same signature goes through once the service is back."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from candidatures.enums import CandidatureState
from college import services
from college.models import Convention
from tests.college.phase3 import mandataire, signature, validated_candidature
from tests.factories import TEST_PASSWORD
from tests.processes import free_port

pytestmark = pytest.mark.django_db
S = CandidatureState
TSA_DOWN = "le service d’horodatage"


@pytest.fixture
def convention():
    candidature = validated_candidature()
    return services.convention_issue(candidature=candidature, actor=candidature.instructeur)


@pytest.fixture
def tsa_down(settings):
    # A real address where nothing listens: the connection is refused.
    settings.SEAL_TSA_URL = f"http://127.0.0.1:{free_port()}/"


def test_an_unreachable_timestamping_service_signs_nothing(convention, tsa_down, settings):
    signer = mandataire(convention.candidature)
    with pytest.raises(ValidationError, match=TSA_DOWN):
        services.convention_sign(
            convention=convention, actor=signer, signature=signature(convention)
        )
    convention.refresh_from_db()
    convention.candidature.refresh_from_db()
    assert convention.signed_at is None and convention.signed_document is None
    assert convention.candidature.state == S.CONVENTION_ENVOYEE
    settings.SEAL_TSA_URL = ""  # back: the demo's own service
    services.convention_sign(convention=convention, actor=signer, signature=signature(convention))
    assert Convention.objects.get(pk=convention.pk).signed_document is not None


def test_the_sign_page_says_so_at_the_form_and_keeps_the_consent(client, convention, tsa_down):
    client.force_login(mandataire(convention.candidature))
    url = reverse("phase3:convention_sign", args=[convention.candidature.pk])
    response = client.post(
        url, {"document_sha256": convention.sha256, "password": TEST_PASSWORD, "consent": "on"}
    )
    assert response.status_code == 400
    assert TSA_DOWN in response.content.decode()
    assert Convention.objects.get(pk=convention.pk).signed_at is None
