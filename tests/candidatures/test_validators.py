import pytest
from django.core.exceptions import ValidationError

from candidatures.validators import validate_siret


@pytest.mark.parametrize("siret", ["73282932000074", "55210055400013", "35600000000048"])
def test_validate_siret_accepts_valid_numbers(siret):
    validate_siret(siret)


def test_validate_siret_accepts_la_poste_establishments():
    # La Poste's establishments: the digits add up to a multiple of 5, Luhn aside.
    validate_siret("35600000012346")


@pytest.mark.parametrize(
    ("siret", "code"),
    [
        ("7328293200007", "siret_format"),
        ("732829320000745", "siret_format"),
        ("7328293200007A", "siret_format"),
        ("73282932000075", "siret_checksum"),
        ("12345678900012", "siret_checksum"),
    ],
)
def test_validate_siret_refuses_bad_numbers(siret, code):
    with pytest.raises(ValidationError) as error:
        validate_siret(siret)
    assert error.value.code == code
