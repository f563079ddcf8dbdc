// Package zoner is the root of the Zoner module: a jet-lag planner for whole
// families. It holds no code of its own, only the repository's rules as
// tests (repo_test.go). Start with README.md; the packages are:
//
//   - syncproto: the event contract every part speaks.
//   - circadian: the body-clock model and the family planner.
//   - hub: the offline-first service on a family device.
//   - bridge: hub events from the cloud's NATS into Kafka.
//   - cloud: ingest, warehouse, recommendations and the cloud API.
package zoner
