# Production image: gunicorn, Celery worker and Celery beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 segur

WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY segur_portal/__init__.py segur_portal/__init__.py
RUN pip install --no-cache-dir -c requirements.lock -e .
COPY . .
# collectstatic needs settings; these placeholders never reach a running container.
RUN DATABASE_URL=postgres://build@localhost/build DJANGO_SECRET_KEY=build EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend \
    CLAMD_HOST=build SITE_URL=https://build.invalid SEAL_DEMO=1 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var/seal \
 && chown -R segur /app/var
USER segur
EXPOSE 8000
CMD ["gunicorn", "segur_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
