// Command zoner-hub is the family hub: it keeps the family's events in an
// embedded NATS JetStream log, folds them into SQLite, plans and re-plans
// every traveller, and serves the household over HTTP. It runs with no
// flags and no services to install.
//
//	zoner-hub [flags]          serve (the default)
//	zoner-hub rebuild [flags]  rebuild the state database from the event log, then exit
//	zoner-hub pair [flags]     make a new LAN pairing token, print it, then exit
//
// From a checkout of the repository the same commands run as
// `go tool task run -- [command] [flags]`, which builds the program first.
// At start it prints where to open the web UI: on the local network (-lan)
// every address a phone can open and a QR code of a one-time pairing link.
package main

import "github.com/zoner-family/zoner/internal/cli"

func main() { cli.Main("zoner-hub", NewMain()) }
