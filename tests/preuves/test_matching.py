import pytest

from preuves.depot import dossier
from preuves.matching import Matcher, words
from tests.preuves.dossiers import drimbox_candidature

pytestmark = pytest.mark.django_db


def test_words_ignore_case_accents_and_separators():
    assert words("SC.DMP-UX.08_capture.png") == ("sc", "dmp", "ux", "08", "capture", "png")
    assert words("DMP/UX.08") == ("dmp", "ux", "08")
    assert words("Écran_INS1.1") == ("ecran", "ins", "1", "1")


@pytest.fixture
def matcher():
    return Matcher(dossier(drimbox_candidature()).items)


@pytest.mark.parametrize(
    "name",
    [
        "SC.DMP-UX.08_capture.png",
        "dmp ux 08.png",
        "DMP_UX_08 démonstration.mp4",
        "DMP-UX.08.01.01.png",
        "preuves/DMP·UX·08/écran.png",
    ],
)
def test_the_identifier_in_a_name_finds_its_proof(matcher, name):
    match = matcher.match(name)
    assert [item.identifier for item in match.items] == ["DMP/UX.08.01.01"]


def test_the_longest_identifier_wins(matcher):
    # DMP/UX.15 has two scenarios; DMP/UX.15.02 names one of them.
    match = matcher.match("DMP-UX.15.02_notification.mp4")
    assert [item.preuve.scenario.identifier for item in match.items] == ["DMP/UX.15.02"]
    assert match.identifier == "DMP/UX.15.02"


def test_an_identifier_shared_by_two_proofs_is_ambiguous(matcher):
    # DMP/UX.15.01.01 is the number of the proof of both scenarios of DMP/UX.15.
    match = matcher.match("DMP-UX.15.01.01.mp4")
    assert len(match.items) == 2
    assert {item.preuve.scenario.identifier for item in match.items} == {
        "DMP/UX.15.01",
        "DMP/UX.15.02",
    }


def test_a_requirement_with_several_proofs_is_ambiguous(matcher):
    assert len(matcher.match("DMP_AIRS.06.pdf").items) == 4


def test_a_name_without_identifier_matches_nothing(matcher):
    assert matcher.match("capture d’écran 2026-11-20 à 10.02.11.png").items == []
    # A number glued to other words is another number: DMP/UX.081 is not DMP/UX.08.
    assert matcher.match("DMP-UX.081.png").items == []
