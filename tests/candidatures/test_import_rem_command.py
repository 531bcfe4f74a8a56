import pytest
from django.core.management import CommandError, call_command

from candidatures.enums import RemStatus
from candidatures.models import RemVersion
from tests.candidatures.sheets import Row, basic_rows, rem_csv
from tests.factories import DsrFactory

pytestmark = pytest.mark.django_db


def test_import_rem_prints_the_counts_and_publishes(tmp_path, capsys):
    dsr = DsrFactory()
    sheet = tmp_path / "REM.csv"
    sheet.write_bytes(rem_csv(basic_rows()).getvalue())
    call_command("import_rem", str(sheet), dsr=dsr.code, label="v1", publish=True)
    out = capsys.readouterr().out
    assert f"REM {dsr.code} « v1 » publiée." in out
    assert "3 exigences, 3 scénarios, 4 preuves attendues" in out
    assert "profil Général : 2" in out
    assert RemVersion.objects.get().status == RemStatus.PUBLISHED


def test_import_rem_fails_with_the_error_list_and_saves_nothing(tmp_path, capsys):
    dsr = DsrFactory()
    sheet = tmp_path / "REM.csv"
    sheet.write_bytes(
        rem_csv([Row("A.01", statement="Un"), Row("A.01", statement="Deux")]).getvalue()
    )
    with pytest.raises(CommandError, match="rien n’a été enregistré"):
        call_command("import_rem", str(sheet), dsr=dsr.code)
    assert "ligne 3" in capsys.readouterr().err
    assert not RemVersion.objects.exists()


def test_import_rem_unknown_dsr(tmp_path):
    with pytest.raises(CommandError, match="DSR inconnu"):
        call_command("import_rem", str(tmp_path / "x.csv"), dsr="NOPE-Va9")
