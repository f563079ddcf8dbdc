package natsedge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/syncproto"
)

// cloudUnderTest is a cloud's NATS as the isolation checks see it: the
// embedded server, whose Go check admits the families, or a server run
// from a config file that asks the auth callout. The same checks run
// against both, so the two cannot admit differently.
type cloudUnderTest struct {
	// leafURL is where hubs link in.
	leafURL string
	// secret derives the families' secrets.
	secret []byte
	// svc is a connection as the cloud's services that serves the downlink.
	svc *nats.Conn
	// dial connects as a plain client (not a leaf node).
	dial func(user, password string, opts ...nats.Option) (*nats.Conn, error)
}

func (c cloudUnderTest) creds(family uuid.UUID) syncproto.Credentials {
	return syncproto.Credentials{FamilyID: family, Secret: edge.FamilySecret(c.secret, family)}
}

// checkIsolation links family B's hub, checks that logins that are not a
// family's are refused, then checks from family A — linked as a hub (leaf
// node), then connected as a plain client with the same credentials —
// that A reaches its own subjects and nothing of B's.
func checkIsolation(t *testing.T, cu cloudUnderTest) {
	famB := uuid.New()
	b := leaf(t, cu.leafURL, cu.creds(famB))
	mustStore(t, b, famB)

	t.Run("logins that are not a family's are refused", func(t *testing.T) {
		famA := uuid.New()
		cases := []struct{ name, user, password string }{
			{"a wrong secret", famA.String(), edge.FamilySecret([]byte("another secret of enough bytes"), famA)},
			{"another family's secret", famA.String(), cu.creds(famB).Secret},
			{"a user that is not a uuid", "not-a-family", cu.creds(famA).Secret},
			{"the nil uuid, with its derived secret", uuid.Nil.String(), edge.FamilySecret(cu.secret, uuid.Nil)},
			{"the service user with a family's secret", edge.ServiceUser, cu.creds(famA).Secret},
			{"no password", famA.String(), ""},
		}
		leaves := map[string]*server.Server{}
		for _, c := range cases {
			leaves[c.name] = startLeaf(t, cu.leafURL, c.user, c.password)
		}
		for _, c := range cases {
			nc, err := cu.dial(c.user, c.password, nats.Timeout(5*time.Second))
			if err == nil {
				nc.Close()
				t.Errorf("%s: a client was admitted", c.name)
			} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Errorf("%s: the client's login failed, but not as unauthorized: %v", c.name, err)
			}
		}
		// The leaves have been trying every 100 ms meanwhile.
		time.Sleep(time.Second)
		for _, c := range cases {
			if n := leaves[c.name].NumLeafNodes(); n != 0 {
				t.Errorf("%s: a leaf linked (%d links)", c.name, n)
			}
		}
	})

	t.Run("a hub linked as a leaf node", func(t *testing.T) {
		famA := uuid.New()
		checkFamily(t, cu, famA, leaf(t, cu.leafURL, cu.creds(famA)), famB, b)
	})

	t.Run("a client with the family's credentials", func(t *testing.T) {
		famA := uuid.New()
		creds := cu.creds(famA)
		a, err := cu.dial(famA.String(), creds.Secret, nats.CustomInboxPrefix(syncproto.ReplyPrefix(famA)))
		if err != nil {
			t.Fatalf("a family's client login: %v", err)
		}
		t.Cleanup(a.Close)
		checkFamily(t, cu, famA, a, famB, b)
	})
}

// mustStore stores one of the family's events through nc and waits for
// the PubAck, retrying the same event (the stream drops a repeat by id)
// while a new link carries the stream's interest over.
func mustStore(t *testing.T, nc *nats.Conn, family uuid.UUID) {
	t.Helper()
	js, _ := jetstream.New(nc)
	msg := event(family)
	waitFor(t, "the family's event to be stored", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.PublishMsg(ctx, msg)
		return err == nil
	})
}

// checkFamily checks that a, family famA's connection, reaches famA's
// subjects and none of famB's, whose hub's connection is b.
func checkFamily(t *testing.T, cu cloudUnderTest, famA uuid.UUID, a *nats.Conn, famB uuid.UUID, b *nats.Conn) {
	ctx := context.Background()
	jsA, _ := jetstream.New(a)
	jsB, _ := jetstream.New(b)
	js, _ := jetstream.New(cu.svc)
	ingest, err := js.Stream(ctx, syncproto.IngestStream)
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
	fetch := func(nc *nats.Conn, family uuid.UUID) (syncproto.FetchReply, error) {
		req, _ := json.Marshal(syncproto.FetchRequest{})
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		msg, err := nc.RequestWithContext(c, syncproto.FetchSubject(family), req)
		if err != nil {
			return syncproto.FetchReply{}, err
		}
		return syncproto.UnmarshalFetchReply(msg.Data)
	}

	// The family stores its own events, with a PubAck on its inbox prefix.
	mustStore(t, a, famA)

	t.Run("cannot write the other family's subjects", func(t *testing.T) {
		before := count()
		c, cancel := context.WithTimeout(ctx, time.Second)
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
		if n := count(); n != before {
			t.Fatalf("ingest holds %d events after A wrote to B's subject, want %d", n, before)
		}
	})

	t.Run("cannot ask for the other family's events", func(t *testing.T) {
		if _, err := fetch(a, famB); err == nil {
			t.Fatal("A read B's events")
		}
		// And its own come back.
		r, err := fetch(a, famA)
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
			if _, err := fetch(b, famB); err != nil {
				t.Fatal(err)
			}
			b.Publish(syncproto.RingSubject(famB), []byte("hub-b"))
			natsedge.Ring(cu.svc, famB)
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
		defer ringsB.Unsubscribe()
		b.Flush()
		time.Sleep(100 * time.Millisecond)
		a.Publish(syncproto.RingSubject(famB), []byte("hub-a")) // refused: not A's family
		a.Flush()
		natsedge.Ring(cu.svc, famB)
		msg, err := ringsB.NextMsg(2 * time.Second)
		if err != nil || string(msg.Data) != "cloud" {
			t.Fatalf("B's first ring: %v %v (want the cloud's, not A's)", msg, err)
		}
		if msg, err := ringsB.NextMsg(300 * time.Millisecond); err == nil {
			t.Fatalf("B heard another ring: %q", msg.Data)
		}
	})
}
