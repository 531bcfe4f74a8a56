from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from candidatures.enums import Jalon, Phase
from candidatures.forms.referentiel import CampagneForm
from tests.factories import CampagneFactory, DsrFactory, RemVersionFactory


def _dates(**overrides):
    base = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    dates = {f"j{k}": base + timedelta(days=7 * k) for k in range(1, 8)}
    # J2 closes at 14:00 Paris (13:00 UTC in January).
    dates["j2"] = dates["j2"].replace(hour=13)
    dates.update(overrides)
    return dates


@pytest.mark.django_db
def test_campagne_clean_requires_jalons_in_order():
    campagne = CampagneFactory.build(
        dsr=DsrFactory(), **_dates(j4=datetime(2027, 1, 1, tzinfo=UTC))
    )
    with pytest.raises(ValidationError) as error:
        campagne.clean()
    assert "j4" in error.value.message_dict
    assert "J4 doit tomber au plus tôt à J3" in error.value.message_dict["j4"][0]


@pytest.mark.django_db
def test_campagne_j2_must_be_strictly_after_j1_but_later_jalons_may_coincide():
    dates = _dates()
    same = CampagneFactory.build(dsr=DsrFactory(), **_dates(j2=dates["j1"]))
    with pytest.raises(ValidationError) as error:
        same.clean()
    assert "J2 doit tomber après J1" in error.value.message_dict["j2"][0]
    dsr = RemVersionFactory().dsr
    CampagneFactory.build(dsr=dsr, **_dates(j4=dates["j3"])).clean()


@pytest.mark.django_db
def test_campagne_order_is_also_a_database_constraint():
    with pytest.raises(IntegrityError):
        CampagneFactory(**_dates(j6=datetime(2027, 1, 1, tzinfo=UTC)))


def test_campagne_phase_follows_the_jalons():
    campagne = CampagneFactory.build(**_dates())
    j = dict(campagne.jalons())
    second = timedelta(seconds=1)
    assert campagne.phase_at(j[Jalon.J1] - second) == Phase.A_VENIR
    assert campagne.phase_at(j[Jalon.J1]) == Phase.IDENTIFICATION
    assert campagne.phase_at(j[Jalon.J5] - second) == Phase.IDENTIFICATION
    assert campagne.phase_at(j[Jalon.J5]) == Phase.PREUVES
    assert campagne.phase_at(j[Jalon.J6]) == Phase.INSTRUCTION
    assert campagne.phase_at(j[Jalon.J7]) == Phase.DECISION
    assert campagne.next_jalon(j[Jalon.J2]) == (Jalon.J3, j[Jalon.J3])
    assert campagne.next_jalon(j[Jalon.J7]) is None


def _form_data(**overrides):
    data = {"label": "Guichet 1"}
    for k, day in enumerate(["2027-01-04", "2027-01-18", "2027-01-25", "2027-02-08",
                             "2027-02-15", "2027-04-12", "2027-06-07"], start=1):  # fmt: skip
        data[f"j{k}_date"] = day
        data[f"j{k}_time"] = ""
    data.update(overrides)
    return data


def test_campagne_form_puts_j2_at_14h_paris_by_default():
    form = CampagneForm(_form_data())
    assert form.is_valid(), form.errors
    # 18 January 2027 14:00 in Paris is 13:00 UTC (winter time).
    assert form.cleaned_data["j2"].astimezone(UTC) == datetime(2027, 1, 18, 13, 0, tzinfo=UTC)
    assert form.cleaned_data["j1"].astimezone(UTC) == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    # 7 June 2027 23:59 in Paris is 21:59 UTC (summer time).
    assert form.cleaned_data["j7"].astimezone(UTC) == datetime(2027, 6, 7, 21, 59, tzinfo=UTC)


def test_campagne_form_keeps_a_given_hour():
    form = CampagneForm(_form_data(j3_time="12:00"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["j3"].astimezone(UTC).hour == 11
