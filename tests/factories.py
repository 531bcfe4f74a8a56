from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from candidatures.models import Editeur
from segur_portal.enums import CompanyRole, Role
from segur_portal.models import Notification, User

TEST_PASSWORD = "mot-de-passe-de-test-2026"


def siret_with_check_digit(prefix: str) -> str:
    """Complete 13 digits into a Luhn-valid SIRET."""
    for last in "0123456789":
        candidate = prefix + last
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable: one check digit always fits")


class EditeurFactory(DjangoModelFactory):
    class Meta:
        model = Editeur
        django_get_or_create = ["siret"]

    raison_sociale = factory.Sequence(lambda n: f"Éditeur {n} SAS")
    siret = factory.Sequence(lambda n: siret_with_check_digit(f"{800000000 + n:09d}0001"))
    representant_nom = "Claire Dupont"
    representant_titre = "Présidente"
    representant_email = factory.Sequence(lambda n: f"presidence{n}@editeur.example")
    representant_telephone = "0123456789"
    contact_nom = "Marc Lemoine"
    contact_email = factory.Sequence(lambda n: f"referencement{n}@editeur.example")
    contact_telephone = "0612345678"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"utilisateur{n}@exemple.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.EDITEUR
    password = Password(TEST_PASSWORD)
    email_verified_at = factory.LazyFunction(timezone.now)

    class Params:
        instructeur = factory.Trait(role=Role.INSTRUCTEUR)
        college = factory.Trait(role=Role.COLLEGE)
        admin = factory.Trait(role=Role.ADMIN)
        mandataire = factory.Trait(
            editeur=factory.SubFactory(EditeurFactory), company_role=CompanyRole.MANDATAIRE
        )
        representant = factory.Trait(
            editeur=factory.SubFactory(EditeurFactory), company_role=CompanyRole.REPRESENTANT
        )
        salarie = factory.Trait(
            editeur=factory.SubFactory(EditeurFactory), company_role=CompanyRole.SALARIE
        )


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = "Le détail de la notification."


class CouloirFactory(DjangoModelFactory):
    class Meta:
        model = "candidatures.Couloir"
        django_get_or_create = ["code"]

    code = "MDV"
    name = "Médecine de ville"


class DsrFactory(DjangoModelFactory):
    class Meta:
        model = "candidatures.Dsr"
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"MDV-T{n}-Va2")
    title = "Logiciel de test"
    wave = 2
    couloir = factory.SubFactory(CouloirFactory)
    general = factory.RelatedFactory(
        "tests.factories.ProfilFactory", factory_related_name="dsr", name="Général", mandatory=True
    )


class ProfilFactory(DjangoModelFactory):
    class Meta:
        model = "candidatures.Profil"
        django_get_or_create = ["dsr", "name"]

    dsr = factory.SubFactory(DsrFactory)
    name = factory.Sequence(lambda n: f"Profil {n}")


class CampagneFactory(DjangoModelFactory):
    """A campaign whose dates put now in phase 1 (J1 passed, J2 ahead)."""

    class Meta:
        model = "candidatures.Campagne"

    dsr = factory.SubFactory(DsrFactory)
    label = "Campagne de test"
    j1 = factory.LazyFunction(lambda: timezone.now() - timedelta(days=7))
    j2 = factory.LazyAttribute(lambda o: o.j1 + timedelta(days=21))
    j3 = factory.LazyAttribute(lambda o: o.j2 + timedelta(days=14))
    j4 = factory.LazyAttribute(lambda o: o.j3 + timedelta(days=14))
    j5 = factory.LazyAttribute(lambda o: o.j4 + timedelta(days=14))
    j6 = factory.LazyAttribute(lambda o: o.j5 + timedelta(days=56))
    j7 = factory.LazyAttribute(lambda o: o.j6 + timedelta(days=56))


class RemVersionFactory(DjangoModelFactory):
    """A published REM version, without requirements unless a test adds them."""

    class Meta:
        model = "candidatures.RemVersion"

    dsr = factory.SubFactory(DsrFactory)
    label = factory.Sequence(lambda n: f"v{n}")
    status = "published"
    source_file = "rem/test.csv"
    source_name = "REM.csv"
    source_sha256 = "0" * 64
    source_size = 1
    default_perimetre = "vague_2"
    published_at = factory.LazyFunction(timezone.now)


class CandidatureFactory(DjangoModelFactory):
    """A candidature of a company with complete data, in phase 1 of an open campaign.

    Traits move it along the procedure as the services would have: admin_soumise,
    admin_validee, eligibilite_soumise, eligible.
    """

    class Meta:
        model = "candidatures.Candidature"
        skip_postgeneration_save = True

    editeur = factory.SubFactory(EditeurFactory)
    campagne = factory.SubFactory(CampagneFactory)
    rem_version = factory.SubFactory(RemVersionFactory, dsr=factory.SelfAttribute("..campagne.dsr"))
    nom_commercial = "MédiLog"
    version_technique = factory.Sequence(lambda n: f"4.{n}.0")
    date_depot_preuves_prevue = factory.LazyFunction(
        lambda: timezone.localdate() + timedelta(days=60)
    )

    class Params:
        admin_soumise = factory.Trait(
            state="admin_soumise",
            admin_submitted_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=2)),
        )
        admin_validee = factory.Trait(
            admin_soumise=True,
            state="admin_validee",
            admin_validated_at=factory.LazyFunction(timezone.now),
        )
        eligibilite_soumise = factory.Trait(
            admin_validee=True,
            state="eligibilite_soumise",
            nie="NIE-0042",
            nil="NIL-4242",
            eligibility_submitted_at=factory.LazyFunction(timezone.now),
        )
        eligible = factory.Trait(
            eligibilite_soumise=True,
            state="eligible",
            eligible_at=factory.LazyFunction(timezone.now),
        )

    @factory.post_generation
    def profils(self, create, extracted, **kwargs):
        if create:
            self.profils.set(extracted or self.campagne.dsr.profils.filter(mandatory=True))


def company_user(editeur, **kwargs):
    """An active member of the company (a salarié unless told otherwise)."""
    kwargs.setdefault("company_role", CompanyRole.SALARIE)
    return UserFactory(editeur=editeur, **kwargs)
