# The hub image. Rasa runs in its own image (nlu/Dockerfile.rasa); see compose.yaml.
FROM python:3.11-slim AS hub
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false
WORKDIR /srv/govchat
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY app ./app
COPY channels ./channels
COPY nlu ./nlu
COPY knowledge_base ./knowledge_base
RUN pip install --no-cache-dir --no-deps . && useradd --system --home /srv/govchat govchat \
    && mkdir -p /srv/govchat/var && chown govchat /srv/govchat/var
USER govchat
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["govchat", "serve", "--host", "0.0.0.0", "--port", "8000"]
