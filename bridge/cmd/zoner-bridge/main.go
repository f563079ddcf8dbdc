// Command zoner-bridge forwards every family's events from the cloud's
// NATS ingest stream into Kafka, one topic per kind of event, and serves
// the downlink that gives each family's hubs the family's events. With
// -embed it runs the cloud's NATS server itself (one machine, tests).
//
//	zoner-bridge [flags]                 forward (the default)
//	zoner-bridge creds -family ID [flags] print a family's hub credentials
package main

import "github.com/zoner-family/zoner/internal/cli"

func main() { cli.Main("zoner-bridge", NewMain()) }
