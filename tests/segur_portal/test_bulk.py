import pytest
from django.db import IntegrityError

from candidatures.models import Couloir, Dsr
from segur_portal.bulk import insert_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("use_copy", [None, False])
def test_insert_rows_returns_the_ids_in_order(use_copy):
    couloir_ids = insert_rows(
        Couloir, ["code", "name"], [("A", "Alpha"), ("B", "Béta, « quoted »\nligne"), ("C", "")],
        use_copy=use_copy,
    )  # fmt: skip
    assert [Couloir.objects.get(pk=pk).code for pk in couloir_ids] == ["A", "B", "C"]
    assert Couloir.objects.get(code="B").name == "Béta, « quoted »\nligne"
    assert Couloir.objects.get(code="C").name == ""
    dsr_ids = insert_rows(
        Dsr, ["code", "title", "wave", "couloir_id"], [("A-X-Va2", "X", 2, couloir_ids[0])],
        use_copy=use_copy,
    )  # fmt: skip
    assert Dsr.objects.get(pk=dsr_ids[0]).couloir.code == "A"
    # The sequence moved on: the ORM's next insert does not collide.
    assert Couloir.objects.create(code="D", name="Delta").pk > max(couloir_ids)


@pytest.mark.parametrize("use_copy", [None, False])
def test_insert_rows_keeps_the_database_constraints(use_copy):
    with pytest.raises(IntegrityError):
        insert_rows(Couloir, ["code", "name"], [("A", "x"), ("A", "y")], use_copy=use_copy)
