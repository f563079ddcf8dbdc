package natsedge_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// On a three-server cluster, EnsureIngest keeps the ingest stream on the
// number of servers asked for, and raises a stream made with one replica
// to three (a rollout that sets ZONER_STREAM_REPLICAS on a running cloud).
func TestEnsureIngestReplicated(t *testing.T) {
	var routes []string
	var ports []int
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[len(ports)-1]))
		l.Close()
	}
	var servers []*server.Server
	for i, port := range ports {
		s, err := server.NewServer(&server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, JetStreamDomain: syncproto.CloudDomain, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "zoner", Host: "127.0.0.1", Port: port},
			Routes:  server.RoutesFromStr(strings.Join(routes, ","))})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("a server is not ready")
		}
	}
	nc, err := nats.Connect(servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	ensure := func(replicas int) {
		t.Helper()
		// The cluster elects its meta leader after the routes are up.
		wait.For(t, 30*time.Second, fmt.Sprintf("the ingest stream ensured with %d replicas", replicas), func() error {
			return natsedge.EnsureIngest(ctx, nc, 0, replicas)
		})
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(want int) {
		t.Helper()
		name := syncproto.IngestStream
		wait.For(t, 30*time.Second, fmt.Sprintf("stream %s on %d servers", name, want), func() error {
			s, err := js.Stream(ctx, name)
			if err != nil {
				return err
			}
			info, err := s.Info(ctx)
			if err != nil {
				return err
			}
			if got := 1 + len(info.Cluster.Replicas); info.Config.Replicas != want || got != want {
				return fmt.Errorf("configured for %d, on %d", info.Config.Replicas, got)
			}
			return nil
		})
	}
	ensure(1)
	check(1)
	ensure(3)
	check(3)
}
