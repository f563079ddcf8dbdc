package natsjs_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/bridge/natsjs"
	"github.com/zoner-family/zoner/syncproto"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MustStartCloud runs an embedded cloud server in a temp dir.
func MustStartCloud(tb testing.TB) *natsjs.Cloud {
	tb.Helper()
	c, err := natsjs.StartCloud(context.Background(), natsjs.CloudConfig{
		StoreDir:        tb.TempDir(),
		Port:            -1,
		Secret:          []byte("a test secret of enough bytes"),
		ServicePassword: "service-password",
	}, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// leaf is a bare leaf-node server linked to the cloud with a family's
// credentials, as a hub is, and a client of it that uses the family's
// inbox prefix.
func leaf(tb testing.TB, cloud *natsjs.Cloud, creds syncproto.Credentials) *nats.Conn {
	tb.Helper()
	u, err := url.Parse(cloud.LeafURL())
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.UserPassword(creds.FamilyID.String(), creds.Secret)
	ns, err := server.NewServer(&server.Options{
		ServerName: "leaf-" + creds.FamilyID.String()[:8], DontListen: true, NoSigs: true, NoLog: true,
		LeafNode: server.LeafNodeOpts{Remotes: []*server.RemoteLeafOpts{{URLs: []*url.URL{u}}}, ReconnectInterval: 100 * time.Millisecond},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("leaf not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.CustomInboxPrefix(syncproto.ReplyPrefix(creds.FamilyID)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	waitFor(tb, "the leaf link", func() bool { return ns.NumLeafNodes() == 1 })
	return nc
}

// mustServeDownlink connects as the cloud's services and serves the
// downlink on that connection, which it returns.
func mustServeDownlink(tb testing.TB, cloud *natsjs.Cloud) *nats.Conn {
	tb.Helper()
	svc, err := cloud.Connect("test-service")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	down, err := natsjs.ServeDownlink(context.Background(), svc, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(down.Close)
	return svc
}

func waitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func event(family uuid.UUID) *nats.Msg {
	id := uuid.Must(uuid.NewV7())
	m := nats.NewMsg(syncproto.IngestSubject(family, syncproto.TypeMeal))
	m.Data = []byte(`{"id":"` + id.String() + `"}`)
	m.Header.Set(jetstream.MsgIDHeader, id.String())
	m.Header.Set(syncproto.HeaderID, id.String())
	return m
}

// TestFamilyIsolation links two families' hubs and checks that each
// reaches its own subjects and nothing of the other's.
func TestFamilyIsolation(t *testing.T) {
	ctx := context.Background()
	cloud := MustStartCloud(t)
	svc := mustServeDownlink(t, cloud)
	famA, famB := uuid.New(), uuid.New()
	a := leaf(t, cloud, cloud.Credentials(famA))
	b := leaf(t, cloud, cloud.Credentials(famB))
	jsA, _ := jetstream.New(a)
	jsB, _ := jetstream.New(b)
	js, _ := jetstream.New(svc)
	ingest, err := js.Stream(ctx, natsjs.IngestStream)
	if err != nil {
		t.Fatal(err)
	}
	count := func() uint64 {
		info, err := ingest.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}

	// Each family stores its own events, with a PubAck.
	waitFor(t, "A's events to reach the cloud", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := jsA.PublishMsg(c, event(famA))
		return err == nil
	})
	if _, err := jsB.PublishMsg(ctx, event(famB)); err != nil {
		t.Fatalf("B's own event: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("ingest holds %d events, want 2", n)
	}

	t.Run("cannot write the other family's subjects", func(t *testing.T) {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := jsA.PublishMsg(c, event(famB)); err == nil {
			t.Fatal("A stored an event on B's subject")
		}
		// A plain publish, without waiting for an answer, either.
		if err := a.PublishMsg(event(famB)); err != nil {
			t.Fatal(err)
		}
		a.Flush()
		time.Sleep(200 * time.Millisecond)
		if n := count(); n != 2 {
			t.Fatalf("ingest holds %d events after A wrote to B's subject, want 2", n)
		}
	})

	t.Run("cannot ask for the other family's events", func(t *testing.T) {
		req, _ := json.Marshal(syncproto.FetchRequest{})
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := a.RequestWithContext(c, syncproto.FetchSubject(famB), req); err == nil {
			t.Fatal("A read B's events")
		}
		// And its own come back.
		msg, err := a.RequestWithContext(ctx, syncproto.FetchSubject(famA), req)
		if err != nil {
			t.Fatal(err)
		}
		r, err := syncproto.UnmarshalFetchReply(msg.Data)
		if err != nil || len(r.Events) != 1 {
			t.Fatalf("A's own fetch: %d events, %v", len(r.Events), err)
		}
	})

	t.Run("cannot hear the other family's news or replies", func(t *testing.T) {
		for _, subj := range []string{syncproto.RingSubject(famB), syncproto.ReplyPrefix(famB) + ".>", syncproto.IngestRoot + ".>", ">"} {
			sub, err := a.SubscribeSync(subj)
			if err != nil {
				t.Fatal(err)
			}
			a.Flush()
			time.Sleep(100 * time.Millisecond)
			// B's traffic: an event stored, a fetch (a reply to B's inbox),
			// a ring from B's hub and one from the cloud.
			if _, err := jsB.PublishMsg(ctx, event(famB)); err != nil {
				t.Fatal(err)
			}
			req, _ := json.Marshal(syncproto.FetchRequest{})
			if _, err := b.RequestWithContext(ctx, syncproto.FetchSubject(famB), req); err != nil {
				t.Fatal(err)
			}
			b.Publish(syncproto.RingSubject(famB), []byte("hub-b"))
			natsjs.Ring(svc, famB)
			for {
				msg, err := sub.NextMsg(300 * time.Millisecond)
				if err != nil {
					break // timed out, or the subscription was refused
				}
				if !strings.HasPrefix(msg.Subject, syncproto.ReplyPrefix(famA)+".") {
					t.Fatalf("A, subscribed to %s, received %s", subj, msg.Subject)
				}
			}
			sub.Unsubscribe()
		}
	})

	t.Run("rings reach the family's hubs, and only theirs", func(t *testing.T) {
		ringsB, err := b.SubscribeSync(syncproto.RingSubject(famB))
		if err != nil {
			t.Fatal(err)
		}
		b.Flush()
		time.Sleep(100 * time.Millisecond)
		a.Publish(syncproto.RingSubject(famB), []byte("hub-a")) // refused: not A's family
		a.Flush()
		natsjs.Ring(svc, famB)
		msg, err := ringsB.NextMsg(2 * time.Second)
		if err != nil || string(msg.Data) != "cloud" {
			t.Fatalf("B's first ring: %v %v (want the cloud's, not A's)", msg, err)
		}
		if msg, err := ringsB.NextMsg(300 * time.Millisecond); err == nil {
			t.Fatalf("B heard another ring: %q", msg.Data)
		}
	})

	t.Run("a wrong secret is refused", func(t *testing.T) {
		creds := cloud.Credentials(famA)
		creds.Secret = natsjs.FamilySecret([]byte("another secret of enough bytes"), famA)
		u, _ := url.Parse(cloud.LeafURL())
		u.User = url.UserPassword(creds.FamilyID.String(), creds.Secret)
		ns, err := server.NewServer(&server.Options{DontListen: true, NoSigs: true, NoLog: true,
			LeafNode: server.LeafNodeOpts{Remotes: []*server.RemoteLeafOpts{{URLs: []*url.URL{u}}}, ReconnectInterval: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		defer ns.Shutdown()
		time.Sleep(time.Second)
		if n := ns.NumLeafNodes(); n != 0 {
			t.Fatalf("a leaf with a wrong secret linked (%d links)", n)
		}
	})
}
