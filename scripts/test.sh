#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

scripts/system-deps.sh

# Use PostgreSQL and Redis when they answer; say loudly what the run falls back to.
eval "$($BIN/python scripts/probe_services.py)"

echo "--- ruff check"
$BIN/ruff check .
echo "--- ruff format --check"
$BIN/ruff format --check .
echo "--- makemigrations --check (embedded settings)"
env -u DATABASE_URL -u REDIS_URL -u AWS_STORAGE_BUCKET_NAME \
  $BIN/python manage.py makemigrations --check --dry-run
echo "--- check --deploy (production settings)"
env DEBUG=0 \
  DATABASE_URL="postgres://segur@db.internal:5432/segur" \
  REDIS_URL="redis://redis.internal:6379/0" \
  DJANGO_SECRET_KEY="$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  ALLOWED_HOSTS="referencement-segur.esante.gouv.fr" \
  SITE_URL="https://referencement-segur.esante.gouv.fr" \
  EMAIL_HOST="smtp.internal" \
  CLAMD_HOST="clamav.internal" \
  SEAL_PKCS12_PATH="/run/secrets/cachet.p12" SEAL_PKCS12_PASSPHRASE="not-a-secret" \
  SEAL_TSA_URL="https://horodatage.internal/tsa" SEAL_TRUST_ROOTS_PATH="/run/secrets/ac-racines.pem" \
  AWS_STORAGE_BUCKET_NAME="segur-preuves" S3_ENDPOINT_URL="https://s3.internal" \
  $BIN/python manage.py check --deploy --fail-level WARNING

echo "--- pytest"
# A queue of this run's own: a worker left over from another run never takes its tasks.
export CELERY_QUEUE="segur-test-$$-$(date +%s)"
mkdir -p var/test-artifacts
$BIN/pytest --create-db "$@"
