//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// TestUplinkCatchesUpSoonAfterTheCloudIsKilled: the cloud — a real
// `zoner-bridge -embed` process, its NATS inside — is killed with kill -9
// while a hub's backlog flows up, so the confirmations in flight are lost,
// and started again on the same files: every event is in the cloud's
// stream, each once, within seconds of its return (the test asserts under
// 5 s and logs the figure).
func TestUplinkCatchesUpSoonAfterTheCloudIsKilled(t *testing.T) {
	const n = 20000
	p := newPipeline(t, brokers(t))
	p.cloud.Close() // the bridge process runs the cloud here
	p.cloud = nil
	bin := proctest.Build(t, bridgePkg)
	dir, httpAddr, opAddr := t.TempDir(), proctest.FreeAddr(t), proctest.FreeAddr(t)
	secret := []string{"ZONER_CLOUD_SECRET=" + cloudSecret}
	startCloud := func() {
		p.bridge = proctest.Start(t, "zoner-bridge", bin, secret, "-embed", "-embed-dir", dir, "-leaf", p.leafAddr,
			"-nats-operator", opAddr, "-kafka-brokers", p.brokers, "-http", httpAddr, "-log-format", "json",
			"-topic-sleep", p.topics.Sleep, "-topic-meal", p.topics.Meal, "-topic-light", p.topics.Light, "-topic-trip", p.topics.Trip)
		proctest.WaitHTTP(t, "http://"+httpAddr+"/readyz")
	}
	startCloud()
	creds, _ := json.Marshal(syncproto.Credentials{FamilyID: p.family, Secret: edge.FamilySecret([]byte(cloudSecret), p.family)})
	credsFile := filepath.Join(t.TempDir(), "family.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	p.proxy.Cut()
	p.startHubWith(credsFile)
	p.write(n)
	total := uint64(n + 2) // and the family's setup
	// stored counts the messages in the cloud's ingest stream, as the
	// operator may read them.
	stored := func() (uint64, error) {
		pw, err := os.ReadFile(filepath.Join(dir, natsedge.OperatorPasswordFile))
		if err != nil {
			return 0, err
		}
		nc, err := nats.Connect("nats://"+opAddr, nats.UserInfo(natsedge.OperatorUser, strings.TrimSpace(string(pw))), nats.Timeout(time.Second))
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, syncproto.IngestStream)
		if err != nil {
			return 0, err
		}
		return s.CachedInfo().State.Msgs, nil
	}
	p.proxy.Mend()
	var before uint64
	wait.Until(t, time.Minute, "the backlog flowing up", func() (bool, string) {
		got, err := stored()
		before = got
		return err == nil && got > 1000, fmt.Sprintf("%d of %d in the cloud (%v)", got, total, err)
	})
	p.bridge.Kill9()
	if before >= total {
		t.Fatalf("the whole backlog (%d) was up before the cloud was killed: the test proves nothing", before)
	}
	time.Sleep(2 * time.Second)
	startCloud()
	back := time.Now()
	var took time.Duration
	wait.Until(t, time.Minute, "every event in the cloud's stream", func() (bool, string) {
		got, err := stored()
		took = time.Since(back)
		return err == nil && got >= total, fmt.Sprintf("%d of %d in the cloud %s after it came back (%v)", got, total, took.Round(time.Millisecond), err)
	})
	t.Logf("the cloud was killed holding about %d of %d events; it had all of them %s after it came back", before, total, took.Round(time.Millisecond))
	if got, _ := stored(); got != total {
		t.Errorf("the cloud's stream holds %d messages for %d events", got, total)
	}
	if took > 5*time.Second {
		t.Errorf("the cloud had every event %s after it came back, want under 5 s", took.Round(time.Millisecond))
	}
}
