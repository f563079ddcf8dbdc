// Package soak holds the whole-system soak test (build tag integration):
// hubs of many families log events through their HTTP APIs while their
// links to the cloud come and go, and the production-shaped pipeline —
// nats-server with the auth callout, two bridges, two ingest processes,
// the recommender — runs on the real Kafka broker, redis-server and the
// fakesnow Snowflake emulator, with processes killed at random. At the end
// every event must be in RAW_EVENTS exactly once and every member's
// recommendation in Redis must be based on the family's newest event; a
// report gives throughput and latency percentiles.
//
// The test command runs a short form; `go tool task soak` runs a long one
// (ZONER_SOAK_FAMILIES, ZONER_SOAK_DURATION).
package soak
