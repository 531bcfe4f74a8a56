"""The production shape, checked without a Docker engine: every command must exist."""

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "static", "web", "worker", "beat"]


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_has_the_production_services():
    assert set(SERVICES) >= {"postgres", "redis", "minio", "web", "worker", "beat", "migrate"}


@pytest.mark.parametrize("name", ["postgres", "redis", "minio", "web", "worker", "beat"])
def test_long_running_services_have_a_health_check(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_beat_runs_as_a_single_replica():
    assert SERVICES["beat"]["deploy"]["replicas"] == 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_command_names_something_that_exists(name):
    command = _command(SERVICES[name])
    program, args = command[0], command[1:]
    if program == "gunicorn":
        module, attribute = args[0].split(":")
        assert callable(getattr(importlib.import_module(module), attribute))
    elif program == "celery":
        app_module = args[args.index("-A") + 1]
        app = importlib.import_module(app_module).celery_app
        assert app.main == app_module
        assert args[args.index("-A") + 2] in {"worker", "beat"}
    elif program == "python":
        assert args[0] == "manage.py"
        assert args[1] in get_commands()
    else:
        pytest.fail(f"commande inconnue pour {name} : {program}")


def test_app_services_start_after_their_dependencies():
    for name in ["web", "worker", "beat"]:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_default_command_is_the_web_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[1]
    assert yaml.safe_load(cmd)[:2] == _command(SERVICES["web"])[:2]


def test_env_example_documents_every_variable_the_settings_read():
    source = (ROOT / "segur_portal" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    # Variables for development and tests only, never set in production.
    dev_only = {"SEGUR_VAR_DIR", "CELERY_TASK_ALWAYS_EAGER", "STATIC_MANIFEST", "EMAIL_BACKEND",
                "EMAIL_FILE_PATH", "CELERY_QUEUE"}  # fmt: skip
    assert read - dev_only - documented == set()
    assert documented - read - {"POSTGRES_PASSWORD"} == set()


def test_only_nginx_is_published():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"nginx"}
    assert "8000" in [str(port) for port in SERVICES["web"]["expose"]]


def test_nginx_runs_the_shipped_template_in_front_of_gunicorn():
    nginx = SERVICES["nginx"]
    template = "./deploy/nginx/segur.conf.template:/etc/nginx/templates/default.conf.template:ro"
    assert template in nginx["volumes"]
    assert (ROOT / "deploy" / "nginx" / "segur.conf.template").exists()
    assert nginx["environment"]["UPSTREAM"] == "web:8000"
    assert SERVICES["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    # The static volume nginx serves is the one collectstatic fills.
    assert "static-files:/srv/static:ro" in nginx["volumes"]
    assert "static-files:/app/var/static" in SERVICES["static"]["volumes"]
