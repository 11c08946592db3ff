# syntax=docker/dockerfile:1
#
# The marketplace API and worker in one image.
#
#   docker build -t marketplace .
#   docker run --rm -v marketplace-data:/data marketplace db upgrade
#   docker run --rm -p 8080:8080 -v marketplace-data:/data marketplace
#   docker run --rm -v marketplace-data:/data marketplace worker
#
# Without DATABASE_URL the app keeps a SQLite file and its signing secret in /data
# (MARKETPLACE_DATA_DIR); in Kubernetes the Helm chart (helm/marketplace) sets everything.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the project's wheel and the wheels of all its dependencies ---------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md constraints.txt ./
COPY app ./app
COPY workflows ./workflows
COPY migrations ./migrations

# The project's own wheel first, then every dependency it declares, at the versions CI tested
# (constraints.txt).
RUN pip wheel --no-deps -w /wheels . \
 && pip wheel -c constraints.txt -w /wheels /wheels/marketplace-*.whl

# --- final: the wheels installed into a clean image, no compilers, no source tree ---------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MARKETPLACE_DATA_DIR=/data

# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels marketplace \
 && groupadd --system --gid 10001 marketplace \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin marketplace \
 && mkdir -p /data \
 && chown 10001:10001 /data

WORKDIR /data
VOLUME ["/data"]
USER 10001

# 8080: the API (serve); 8081: the worker's /healthz, /readyz and /metrics (MARKETPLACE_WORKER_PORT).
EXPOSE 8080 8081

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["marketplace", "healthcheck", "--timeout", "4"]

ENTRYPOINT ["marketplace"]
CMD ["serve", "--production", "--host", "0.0.0.0", "--port", "8080"]
