from django.core.exceptions import ValidationError

# La Poste's establishments share one SIREN and follow their own checksum rule:
# the sum of the SIRET's digits is a multiple of 5.
LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def validate_siret(value: str) -> None:
    if len(value) != 14 or not value.isdigit():
        raise ValidationError("Le SIRET compte exactement 14 chiffres.", code="siret_format")
    valid = luhn_valid(value) or (
        value.startswith(LA_POSTE_SIREN) and sum(int(char) for char in value) % 5 == 0
    )
    if not valid:
        raise ValidationError(
            "Ce SIRET n’est pas valide (clé de contrôle incorrecte) : vérifiez les 14 chiffres.",
            code="siret_checksum",
        )
