#!/usr/bin/env bash
# `make run`: Rasa NLU server (when its environment exists) + the hub, stopped together by Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
RASA_PORT=${RASA_PORT:-5005}
export RASA_TELEMETRY_ENABLED=false
mkdir -p var

# A local admin password for this checkout, unless one is configured.
if [[ -z "${GOVCHAT_ADMIN_PASSWORD:-}" ]]; then
  if [[ ! -s var/admin_password ]]; then
    (umask 077; .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(12))" > var/admin_password)
  fi
  GOVCHAT_ADMIN_PASSWORD=$(cat var/admin_password)
  export GOVCHAT_ADMIN_PASSWORD
fi
export GOVCHAT_ADMIN_USERNAME=${GOVCHAT_ADMIN_USERNAME:-admin}

# The children run in the background, where bash ignores Ctrl-C for them: stopping them is this
# script's job. SIGTERM lets `govchat nlu serve` stop its Rasa server and the hub finish its
# requests (up to 15 s); whatever still runs after STOP_SECONDS is killed.
STOP_SECONDS=${STOP_SECONDS:-30}
pids=()
stop_children() {
  trap - INT TERM EXIT
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_SECONDS)) running
  while :; do
    running=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running+=("$pid"); done
    ((${#running[@]})) && ((SECONDS < deadline)) || break
    sleep 0.2
  done
  if ((${#running[@]})); then
    echo "govchat: still running after ${STOP_SECONDS} s, killed: ${running[*]}" >&2
    kill -KILL "${running[@]}" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
}
trap 'stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM
trap stop_children EXIT

if [[ -z "${RASA_URL:-}" ]] && .venv/bin/python -m nlu.rasa_env python >/dev/null 2>&1; then
  # Rasa's HTTP API is served only with an auth token; the hub sends the same one.
  RASA_AUTH_TOKEN="${RASA_AUTH_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')}"
  export RASA_AUTH_TOKEN
  .venv/bin/govchat nlu serve --port "$RASA_PORT" &
  pids+=($!)
  export RASA_URL="http://127.0.0.1:${RASA_PORT}"
  echo "Waiting for the Rasa NLU server on ${RASA_URL} ..."
  for _ in $(seq 1 120); do
    curl -fsS "${RASA_URL}/status?token=${RASA_AUTH_TOKEN}" >/dev/null 2>&1 && break
    sleep 1
  done
else
  echo "Rasa environment not available: the hub uses its embedded Thai NLU engine."
fi

.venv/bin/govchat serve --host "$HOST" --port "$PORT" &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "http://${HOST}:${PORT}/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
cat <<MSG

govchat is running
  web chat:          http://${HOST}:${PORT}/
  officer console:   http://${HOST}:${PORT}/console
  readiness:         http://${HOST}:${PORT}/readyz
  NLU:               ${RASA_URL:-embedded engine}
  first officer:     ${GOVCHAT_ADMIN_USERNAME} / ${GOVCHAT_ADMIN_PASSWORD}
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
