// Command zoner-cloud runs Zoner's cloud pipeline: ingest (Kafka → the
// warehouse), the recommender (Kafka → plans → the cache and down to the
// hubs) and the API (recommendations, family summaries, analytics and the
// flight-status webhooks). Each runs alone for production, or all of them
// in one process with the cloud's NATS and the bridge on one machine.
//
//	zoner-cloud all [flags]          everything in one process: embedded NATS, kfake, SQLite, in-process cache
//	zoner-cloud ingest [flags]       the ingest consumer group
//	zoner-cloud recommender [flags]  the recommender consumer group
//	zoner-cloud api [flags]          the HTTP API
//	zoner-cloud analytics [flags]    print the analytics report
//	zoner-cloud token [flags]        print a signed bearer token
//	zoner-cloud migrate [flags]      bring the warehouse's schema up to date
//	zoner-cloud migrate -admin       also roles, grants and masking (Snowflake, as ZONER_ADMIN)
package main

import "github.com/zoner-family/zoner/internal/cli"

func main() { cli.Main("zoner-cloud", NewMain()) }
