// Command zoner-bridge forwards every family's events from the cloud's
// NATS ingest stream into Kafka, one topic per kind of event, and serves
// the downlink that gives each family's hubs the family's events. With
// -embed it runs the cloud's NATS server itself (one machine, tests).
//
//	zoner-bridge [flags]                 forward (the default)
//	zoner-bridge creds -family ID [flags] print a family's hub credentials
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "zoner-bridge:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "zoner-bridge:", err)
		m.Close()
		os.Exit(1)
	}
	if m.Command == "serve" {
		<-ctx.Done()
	}
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "zoner-bridge:", err)
		os.Exit(1)
	}
}
