# SCIM Onboard container image. NOT built or run on the machine this was written on (it cannot
# build images): see README.md, "Containers". One image, two processes:
#   web (default):  gunicorn --config /app/gunicorn.conf.py
#   worker:         flask --app app worker
# Migrations: flask --app app db upgrade (compose.yaml runs it once before web and worker).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/venv/bin:$PATH \
    BIND=0.0.0.0:8000 \
    LOG_FORMAT=json

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/scim-onboard \
        --create-home --shell /usr/sbin/nologin scim-onboard

WORKDIR /app
COPY . .
# The runtime dependencies only, at the versions of requirements.lock; the app runs from /app
# (templates, static files and migrations live beside the code).
RUN python -m venv /venv && /venv/bin/pip install --constraint requirements.lock --editable .

USER scim-onboard
EXPOSE 8000
# With SQLite: DATABASE_URL=sqlite:////var/lib/scim-onboard/scim-onboard.db (and SECRET_KEY,
# ENCRYPTION_KEYS: the image's /app/instance is not writable).
VOLUME ["/var/lib/scim-onboard"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py"]
