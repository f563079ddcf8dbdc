package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/syncproto"
)

// TestEmbedOperatorPort: zoner-bridge -embed -nats-operator opens the
// embedded server to the operator, with the password in the -embed-dir,
// and the operator lists the streams and the bridge's consumer as the nats
// CLI does; without -embed the flag is refused.
func TestEmbedOperatorPort(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	dir := t.TempDir()
	t.Setenv("ZONER_CLOUD_SECRET", "a test secret of enough bytes")
	m := NewMain()
	if err := m.ParseFlags(context.Background(), []string{"-embed", "-embed-dir", dir, "-leaf", "127.0.0.1:0",
		"-nats-operator", ":0", "-http", "", "-kafka-brokers", strings.Join(kc.ListenAddrs(), ",")}); err != nil {
		t.Fatal(err)
	}
	m.Logger, m.Stdout = slog.New(slog.DiscardHandler), &bytes.Buffer{}
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
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var streams []string
	for info := range js.ListStreams(ctx).Info() {
		streams = append(streams, info.Config.Name)
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
	for info := range stream.ListConsumers(ctx).Info() {
		consumers = append(consumers, info.Name)
	}
	if !slices.Equal(consumers, []string{natssource.DefaultConsumer}) {
		t.Fatalf("consumers of %s: %v, want the bridge's", syncproto.IngestStream, consumers)
	}

	noEmbed := NewMain()
	if err := noEmbed.ParseFlags(context.Background(), []string{"-nats-operator", "127.0.0.1:0", "-kafka-brokers", "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	noEmbed.Logger = slog.New(slog.DiscardHandler)
	if err := noEmbed.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "-embed") {
		t.Fatalf("-nats-operator without -embed: %v", err)
	}
	noEmbed.Close()
}
