"""Customer-base sheets are parsed only after the rights and state checks, and the
reader stops at its caps instead of reading 200,000 rows."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from candidatures import parc
from candidatures.parc import MAX_CELLS, MAX_ROWS, MODEL_HEADER, parse_parc_versions
from candidatures.services import eligibility as services
from tests.factories import CandidatureFactory, UserFactory, company_user

ROW = "4.{n}.0;Logiciel {n};non;non;;non;\n"


def _csv(rows: int) -> bytes:
    header = ";".join(MODEL_HEADER) + "\n"
    return (header + "".join(ROW.format(n=n) for n in range(rows))).encode()


class _CountingRows:
    """Counts the rows the reader asks for, to show where it stopped."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = parc._Reader.capped

        def capped(reader, rows):
            def counted():
                for row in rows:
                    self.count += 1
                    yield row

            return original(reader, counted())

        monkeypatch.setattr(parc._Reader, "capped", capped)


def test_a_200000_row_sheet_stops_at_the_cap(monkeypatch):
    counter = _CountingRows(monkeypatch)
    parsed = parse_parc_versions(io.BytesIO(_csv(200_000)), filename="parc.csv")
    assert not parsed.ok
    assert parsed.versions == []
    assert "La liste dépasse 5\u202f000 lignes" in parsed.errors[-1].message
    # Stopped where the cap is, not at the end of the file (plus the header search).
    assert counter.count <= MAX_ROWS + 2


def test_a_list_at_the_cap_is_read():
    parsed = parse_parc_versions(io.BytesIO(_csv(MAX_ROWS - 1)), filename="parc.csv")
    assert parsed.ok, parsed.errors[:3]
    assert len(parsed.versions) == MAX_ROWS - 1


def test_a_workbook_with_too_many_cells_is_refused(monkeypatch):
    # The cap scaled down, so that the workbook stays small to write.
    monkeypatch.setattr(parc, "MAX_CELLS", 2_000)
    assert 100 * len(MODEL_HEADER) * 100 <= MAX_CELLS
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Versions")
    sheet.append(MODEL_HEADER)
    wide = ["x"] * 100
    for n in range(30):
        sheet.append([f"4.{n}.0", "Logiciel", "non", "non", "", "non", "", *wide])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    parsed = parse_parc_versions(buffer, filename="parc.xlsx")
    assert not parsed.ok
    assert "trop de cellules" in parsed.errors[-1].message


@pytest.mark.django_db
def test_a_wrong_state_never_parses(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("la feuille a été lue avant le contrôle de l’état")

    monkeypatch.setattr(services, "parse_parc_versions", fail)
    candidature = CandidatureFactory(admin_soumise=True)
    upload = SimpleUploadedFile("parc.csv", _csv(3))
    with pytest.raises(ValidationError, match="n’est plus modifiable"):
        services.parc_upload(
            candidature=candidature, actor=company_user(candidature.editeur), upload=upload
        )


@pytest.mark.django_db
def test_another_company_never_parses(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("la feuille a été lue avant le contrôle des droits")

    monkeypatch.setattr(services, "parse_parc_versions", fail)
    candidature = CandidatureFactory(admin_validee=True)
    intruder = UserFactory(mandataire=True)
    with pytest.raises(PermissionDenied):
        services.parc_upload(
            candidature=candidature,
            actor=intruder,
            upload=SimpleUploadedFile("parc.csv", _csv(3)),
        )
