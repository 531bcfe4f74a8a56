"""Rules of the house, checked on the code itself."""

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.template.loader import get_template

ROOT = Path(settings.BASE_DIR)
OUR_APPS = ["segur_portal", "candidatures", "preuves", "college"]
# Foreign keys to a user that may cascade: data that belongs to the user alone.
USER_FK_CASCADE_ALLOWED = {
    ("segur_portal", "Notification", "recipient"),
    # A session signed in to the account: deleting the account ends it.
    ("segur_portal", "Session", "account"),
}


def _our_models():
    for app_label in OUR_APPS:
        yield from apps.get_app_config(app_label).get_models()


def test_foreign_keys_to_users_never_cascade():
    """Who did what stays on record: deleting a user must not delete their acts."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    offenders = []
    for model in _our_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is user_model
                and field.remote_field.on_delete is models.CASCADE
                and (model._meta.app_label, model.__name__, field.name)
                not in USER_FK_CASCADE_ALLOWED
            ):
                offenders.append(f"{model.__name__}.{field.name}")
    assert offenders == []


def test_the_apps_of_the_brief_exist():
    for app_label in OUR_APPS:
        assert apps.get_app_config(app_label)


def test_no_python_file_uses_print_or_relative_imports():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if any(part in {".venv", "var", "migrations", "scripts", "bench"} for part in path.parts):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                offenders.append(f"{path}:{node.lineno} import relatif")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path}:{node.lineno} print")
    assert offenders == []


TEMPLATES = sorted(
    str(path.relative_to(ROOT / "templates")) for path in (ROOT / "templates").rglob("*.html")
)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_compiles(name):
    get_template(name)


def test_every_template_is_used():
    sources = "\n".join(
        path.read_text()
        for pattern in ["*/**/*.py", "templates/**/*.html"]
        for path in ROOT.glob(pattern)
        if ".venv" not in path.parts
    )
    # Django finds these by name, without any reference in our code.
    implicit = {"403.html", "404.html", "500.html"}
    unused = [
        name
        for name in TEMPLATES
        if name not in implicit
        and not re.search(re.escape(f'"{name}"'), sources)
        and not re.search(re.escape(f"'{name}'"), sources)
        and name.removeprefix("registration/") == name
    ]
    assert unused == []


def test_media_is_outside_every_static_folder():
    media = Path(settings.MEDIA_ROOT).resolve()
    for folder in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert not media.is_relative_to(Path(folder).resolve())


# One way to write a deadline (SPEC §4): "jusqu’au vendredi 11 décembre 2026 inclus", or
# "jusqu’au … à 14:00" when it has a time, in Paris time, in pages, e-mails and PDFs.
DEADLINE_FIELDS = r"(j[2-7]|due_at|closes_at|expires_at|recording_due_at|reserves_due_at)"


def test_templates_write_deadlines_with_the_echeance_filter():
    formatted = re.compile(DEADLINE_FIELDS + r"\|(date|time)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "templates").rglob("*")
        if path.suffix in {".html", ".txt"}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if formatted.search(line)
    ]
    assert offenders == []


def test_python_writes_deadlines_with_due_display_alone():
    """due_display says "jusqu’au …" itself: no "le", "avant le" or "23:59" around it."""
    doubled = re.compile(r"(\ble|\bau|avant le|au plus tard le)\s*\"?\s*\n?\s*f?\"?\{due_display")
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if any(part in {".venv", "var", "migrations", "tests"} for part in path.parts):
            continue
        text = path.read_text()
        if doubled.search(text) or re.search(r"[\"'][^\"'\n]*23:59", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
