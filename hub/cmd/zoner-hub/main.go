// Command zoner-hub is the family hub: it keeps the family's events in an
// embedded NATS JetStream log, folds them into SQLite, plans and re-plans
// every traveller, and serves the household over HTTP. It runs with no
// flags and no services to install.
//
//	zoner-hub [flags]          serve (the default)
//	zoner-hub rebuild [flags]  rebuild the state database from the event log, then exit
//	zoner-hub pair [flags]     make a new LAN pairing token, print it, then exit
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
		fmt.Fprintln(os.Stderr, "zoner-hub:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "zoner-hub:", err)
		m.Close()
		os.Exit(1)
	}
	if m.Command == "serve" {
		<-ctx.Done()
	}
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "zoner-hub:", err)
		os.Exit(1)
	}
}
