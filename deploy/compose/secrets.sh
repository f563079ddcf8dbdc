#!/usr/bin/env bash
# Makes, once, the secrets deploy/compose/compose.yaml needs:
#   secrets/cloud-secret            derives every family's hub password
#   secrets/callout-issuer-seed     signs the auth callout's answers
#   secrets/nats-service-password   the cloud services' NATS password
#   secrets/nats-auth-password      the callout's NATS password
#   secrets/redis-password
#   secrets/token-secret            signs the API's bearer tokens
#   secrets/webhook-secret          flight-status webhooks present it
# and .env beside compose.yaml with the two NATS passwords and the callout's
# public issuer key, which nats.conf reads from the environment.
#
# The directory is 0700; the files are 0644 because docker compose mounts
# them as they are, and the services run as the images' nonroot user.
# Needs Go (it runs zoner-bridge callout-keys from this checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ -e secrets ] || [ -e .env ]; then
  echo "secrets.sh: $here/secrets or .env exists already; move them away to make new ones" >&2
  echo "(a new cloud-secret changes every family's hub credentials)" >&2
  exit 1
fi
mkdir -m 0700 secrets
random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for f in cloud-secret nats-service-password nats-auth-password redis-password token-secret webhook-secret; do
  random > "secrets/$f"
done
issuer=$(cd "$here/../.." && go run ./bridge/cmd/zoner-bridge callout-keys -issuer-seed-file "$here/secrets/callout-issuer-seed")
chmod 0644 secrets/*
umask 077
cat > .env <<ENV
ZONER_SERVICE_PASSWORD=$(cat secrets/nats-service-password)
ZONER_AUTH_PASSWORD=$(cat secrets/nats-auth-password)
ZONER_CALLOUT_ISSUER=$issuer
ENV
echo "secrets.sh: wrote $here/secrets/ and $here/.env" >&2
echo "A family's hub credentials: go run ./bridge/cmd/zoner-bridge creds -secret-file $here/secrets/cloud-secret -family <family id>" >&2
