#!/bin/sh
# Waits until the Temporal frontend is healthy, then creates the namespace if it is missing.
# Runs in the temporal-create-namespace one-shot (see docker-compose.yml). Safe to re-run.
# Based on temporalio/samples-server compose/scripts/create-namespace.sh, with its MAX_ATTdMPTS typo fixed
# (under `set -u` that typo aborted the script on the first failed create instead of retrying).
set -eu

NAMESPACE=${DEFAULT_NAMESPACE:-default}
RETENTION=${DEFAULT_NAMESPACE_RETENTION:-72h}
TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
MAX_ATTEMPTS=${TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS:-30}
SLEEP_SECONDS=${TEMPORAL_HEALTH_CHECK_SLEEP_SECONDS:-5}

SERVER_HOST=$(echo "$TEMPORAL_ADDRESS" | cut -d: -f1)
SERVER_PORT=$(echo "$TEMPORAL_ADDRESS" | cut -d: -f2)

echo "Waiting for the Temporal port at $TEMPORAL_ADDRESS..."
attempt=1
until nc -z -w 10 "$SERVER_HOST" "$SERVER_PORT"; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "Temporal port did not open after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  echo "Temporal port not open yet (attempt $attempt/$MAX_ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

echo 'Waiting for the Temporal cluster to be healthy...'
attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "Temporal did not become healthy after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  echo "Temporal not healthy yet (attempt $attempt/$MAX_ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

echo "Temporal is healthy; ensuring namespace '$NAMESPACE' exists..."
# Loop until `describe` sees the namespace: a fresh registration takes a few seconds to become visible,
# and the next job (networkcore setup) registers search attributes in it right away.
attempt=1
until temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "Namespace '$NAMESPACE' is not available after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  if temporal operator namespace create -n "$NAMESPACE" --retention "$RETENTION" \
    --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
    echo "Namespace '$NAMESPACE' created (retention $RETENTION); waiting until it is visible"
  else
    echo "Namespace not ready yet (attempt $attempt/$MAX_ATTEMPTS)"
  fi
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done
echo "Namespace '$NAMESPACE' is available"
