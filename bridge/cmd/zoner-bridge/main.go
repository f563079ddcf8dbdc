// Command zoner-bridge forwards every family's events from the cloud's
// NATS ingest stream into Kafka, one topic per kind of event, and serves
// the downlink that gives each family's hubs the family's events. With
// -embed it runs the cloud's NATS server itself (one machine, tests);
// against a configured NATS cluster, its callout command admits the hubs.
//
//	zoner-bridge [flags]                  forward (the default)
//	zoner-bridge creds -family ID [flags] print a family's hub credentials
//	zoner-bridge callout [flags]          answer the cluster's auth callout
//	zoner-bridge callout-keys -issuer-seed-file F
//	                                      make the callout's account key pair
package main

import "github.com/zoner-family/zoner/internal/cli"

func main() { cli.Main("zoner-bridge", NewMain()) }
