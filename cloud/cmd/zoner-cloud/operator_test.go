package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/syncproto"
)

// TestAllOperatorPort: zoner-cloud all -nats-operator opens the cloud's
// NATS to the operator on loopback, with the password in the data dir, and
// the operator lists the streams and the ingest stream's consumers as the
// nats CLI does (nats stream ls, nats consumer ls INGEST).
func TestAllOperatorPort(t *testing.T) {
	dir := t.TempDir()
	m := NewMain()
	if err := m.ParseFlags(context.Background(), []string{"all", "-data", dir, "-nats-operator", "127.0.0.1:0",
		"-leaf", proctest.FreeAddr(t), "-api", "127.0.0.1:0", "-http", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if m.NATSOperatorAddr != "127.0.0.1:0" {
		t.Fatalf("-nats-operator: %q", m.NATSOperatorAddr)
	}
	m.Logger, m.Stdout = testLogger(), &bytes.Buffer{}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if m.NATSOperatorFile != filepath.Join(dir, natsedge.OperatorPasswordFile) || !strings.HasPrefix(m.NATSOperatorURL, "nats://127.0.0.1:") {
		t.Fatalf("operator's port %q, password in %q", m.NATSOperatorURL, m.NATSOperatorFile)
	}
	password, err := os.ReadFile(m.NATSOperatorFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(m.NATSOperatorURL, nats.UserInfo(natsedge.OperatorUser, strings.TrimSpace(string(password))))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.NewWithDomain(nc, syncproto.CloudDomain)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var streams []string
	for name := range js.StreamNames(ctx).Name() {
		streams = append(streams, name)
	}
	slices.Sort(streams)
	if want := []string{natssource.DeadLetterStream, syncproto.IngestStream}; !slices.Equal(streams, want) {
		t.Fatalf("streams %v, want %v", streams, want)
	}
	stream, err := js.Stream(ctx, syncproto.IngestStream)
	if err != nil {
		t.Fatal(err)
	}
	var consumers []string
	for name := range stream.ConsumerNames(ctx).Name() {
		consumers = append(consumers, name)
	}
	if !slices.Equal(consumers, []string{natssource.DefaultConsumer}) {
		t.Fatalf("consumers of %s: %v, want the bridge's", syncproto.IngestStream, consumers)
	}
}
