package natsedge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/wait"
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
		leaves := map[string]leafServer{}
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
		// The leaves have been trying every 100 ms meanwhile: each has
		// been answered, by a refusal or a link.
		for _, c := range cases {
			l := leaves[c.name]
			wait.Until(t, 15*time.Second, c.name+": the leaf's login answered", func() (bool, string) {
				return l.Ended() > 0 || l.NumLeafNodes() > 0, "neither refused nor linked"
			})
			if n := l.NumLeafNodes(); n != 0 {
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
	wait.For(t, 15*time.Second, "the family's event stored", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.PublishMsg(ctx, msg)
		return err
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
	stored := 1 // A's events in the stream

	t.Run("cannot write the other family's subjects", func(t *testing.T) {
		before := count()
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := jsA.PublishMsg(c, event(famB)); err == nil {
			t.Fatal("A stored an event on B's subject")
		}
		// A plain publish, without waiting for an answer, either; then
		// one of A's own on the same connection, stored after the server
		// has taken (or dropped) the first.
		if err := a.PublishMsg(event(famB)); err != nil {
			t.Fatal(err)
		}
		own := event(famA)
		if err := a.PublishMsg(own); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 15*time.Second, "A's own event stored after it", func() error {
			msg, err := ingest.GetLastMsgForSubject(ctx, own.Subject)
			if err != nil {
				return err
			}
			if id := msg.Header.Get(syncproto.HeaderID); id != own.Header.Get(syncproto.HeaderID) {
				return fmt.Errorf("the last on A's subject is %s", id)
			}
			return nil
		})
		stored++
		if n := count(); n != before+1 {
			t.Fatalf("ingest holds %d events after A wrote to B's subject and then its own, want %d", n, before+1)
		}
	})

	t.Run("cannot ask for the other family's events", func(t *testing.T) {
		if _, err := fetch(a, famB); err == nil {
			t.Fatal("A read B's events")
		}
		// And its own come back.
		r, err := fetch(a, famA)
		if err != nil || len(r.Events) != stored {
			t.Fatalf("A's own fetch: %d events, %v; want %d", len(r.Events), err, stored)
		}
	})

	t.Run("cannot hear the other family's news or replies", func(t *testing.T) {
		ringsB := mustSubscribe(t, b, syncproto.RingSubject(famB))
		defer ringsB.Unsubscribe()
		ringUntilHeard(t, cu.svc, ringsB, famB)
		for _, subj := range []string{syncproto.RingSubject(famB), syncproto.ReplyPrefix(famB) + ".>", syncproto.IngestRoot + ".>", ">"} {
			sub := mustSubscribe(t, a, subj)
			// A ring to A heard on a subscription made after sub: the
			// cloud has taken (or refused) sub. Then one to B heard: B's
			// hub knows of any interest the cloud gave it for sub.
			ringsA := mustSubscribe(t, a, syncproto.RingSubject(famA))
			ringUntilHeard(t, cu.svc, ringsA, famA)
			ringUntilHeard(t, cu.svc, ringsB, famB)
			// B's traffic: a ring from B's hub, taken by the cloud before
			// the event B stores next; a fetch (a reply to B's inbox from
			// the cloud's service connection); a ring from the cloud.
			if err := b.Publish(syncproto.RingSubject(famB), []byte("hub-b")); err != nil {
				t.Fatal(err)
			}
			if _, err := jsB.PublishMsg(ctx, event(famB)); err != nil {
				t.Fatal(err)
			}
			if _, err := fetch(b, famB); err != nil {
				t.Fatal(err)
			}
			if err := natsedge.Ring(cu.svc, famB); err != nil {
				t.Fatal(err)
			}
			// A ring to A sent after all of it: what A could hear of it
			// was delivered before, and waits in sub.
			ringUntilHeard(t, cu.svc, ringsA, famA)
			n, _, err := sub.Pending()
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				msg, err := sub.NextMsg(time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if msg.Subject != syncproto.RingSubject(famA) && !strings.HasPrefix(msg.Subject, syncproto.ReplyPrefix(famA)+".") {
					t.Fatalf("A, subscribed to %s, received %s", subj, msg.Subject)
				}
			}
			sub.Unsubscribe()
			ringsA.Unsubscribe()
		}
	})

	t.Run("rings reach the family's hubs, and only theirs", func(t *testing.T) {
		ringsB := mustSubscribe(t, b, syncproto.RingSubject(famB))
		defer ringsB.Unsubscribe()
		ringsA := mustSubscribe(t, a, syncproto.RingSubject(famA))
		defer ringsA.Unsubscribe()
		// B's subscription is known to the cloud, and then any interest
		// the cloud gave A's hub for it is known there.
		ringUntilHeard(t, cu.svc, ringsB, famB)
		ringUntilHeard(t, cu.svc, ringsA, famA)
		a.Publish(syncproto.RingSubject(famB), []byte("hub-a")) // refused: not A's family
		// A's own fetch, answered once the cloud has taken the ring.
		if _, err := fetch(a, famA); err != nil {
			t.Fatal(err)
		}
		natsedge.Ring(cu.svc, famB)
		// A's ring, had it got through, would come before the cloud's.
		if heard := ringUntilHeard(t, cu.svc, ringsB, famB); len(heard) != 1 || string(heard[0].Data) != syncproto.RingFromCloud {
			var got []string
			for _, msg := range heard {
				got = append(got, string(msg.Data))
			}
			t.Fatalf("B heard %q, want the cloud's ring only, not A's", got)
		}
	})
}

// mustSubscribe subscribes nc to subj and flushes.
func mustSubscribe(t *testing.T, nc *nats.Conn, subj string) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subj)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// ringUntilHeard rings family from svc with a probe until sub, a
// subscription to the family's rings, hears it; a ring lost because the
// cloud did not know of sub yet is sent again. Once heard, what the
// cloud sent sub's connection before has been delivered, and the
// subscriptions made on it before sub are known to the cloud. It
// returns the other rings sub heard meanwhile, leaving out probes.
func ringUntilHeard(t *testing.T, svc *nats.Conn, sub *nats.Subscription, family uuid.UUID) []*nats.Msg {
	t.Helper()
	var heard []*nats.Msg
	wait.For(t, 15*time.Second, "a ring heard", func() error {
		probe := "probe-" + uuid.NewString()
		if err := svc.Publish(syncproto.RingSubject(family), []byte(probe)); err != nil {
			return err
		}
		for {
			msg, err := sub.NextMsg(200 * time.Millisecond)
			switch {
			case err != nil:
				return fmt.Errorf("no ring %s: %w", probe, err)
			case string(msg.Data) == probe:
				return nil
			case !strings.HasPrefix(string(msg.Data), "probe-"):
				heard = append(heard, msg)
			}
		}
	})
	return heard
}
