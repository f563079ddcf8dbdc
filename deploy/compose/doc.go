// Package compose holds the docker compose file for users who have Docker
// (compose.yaml, nats.conf, secrets.sh) and the offline test that loads it
// with the Compose specification's own loader. No Docker engine runs where
// Zoner's tests run, so the file itself is not exercised in CI.
package compose
