package natspub

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	return ns.ClientURL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func next(t *testing.T, ch <-chan cloud.Notice) cloud.Notice {
	t.Helper()
	select {
	case n, ok := <-ch:
		if !ok {
			t.Fatal("closed")
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
	}
	return cloud.Notice{}
}

// Two API replicas each tell their own clients of a family: of events
// stored on the family's ingest subjects and of the recommender's plan
// notices, and of no other family's. Close ends every stream.
func TestNoticesAcrossReplicas(t *testing.T) {
	url := startNATS(t)
	a, b := NewNotices(connect(t, url)), NewNotices(connect(t, url))
	rec := NewNotices(connect(t, url)) // the recommender's side
	fam, other, member := uuid.New(), uuid.New(), uuid.New()
	ctx := context.Background()
	chA, cancelA, err := a.Subscribe(ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	defer cancelA()
	chB, _, err := b.Subscribe(ctx, fam)
	if err != nil {
		t.Fatal(err)
	}
	chOther, _, err := b.Subscribe(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Notify(ctx, fam, cloud.Notice{Kind: "plan", MemberID: &member, BasedOn: "h"}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan cloud.Notice{chA, chB} {
		if n := next(t, ch); n.Kind != "plan" || *n.MemberID != member || n.BasedOn != "h" {
			t.Errorf("notice %+v", n)
		}
	}
	hub := connect(t, url)
	id := uuid.New()
	msg := nats.NewMsg(syncproto.IngestSubject(fam, syncproto.TypeSleep))
	msg.Header.Set(syncproto.HeaderID, id.String())
	msg.Header.Set(syncproto.HeaderType, string(syncproto.TypeSleep))
	if err := hub.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	if n := next(t, chA); n.Kind != "events" || *n.EventID != id || n.Type != "sleep" {
		t.Errorf("notice %+v", n)
	}
	select {
	case n := <-chOther:
		t.Errorf("another family's client got %+v", n)
	case <-time.After(100 * time.Millisecond):
	}
	b.Close()
	for _, ch := range []<-chan cloud.Notice{chB, chOther} {
		deadline := time.After(5 * time.Second)
	drain: // what was sent before Close, then the end
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatal("Close left a stream open")
			}
		}
	}
	if _, _, err := b.Subscribe(ctx, fam); cloud.CodeOf(err) != cloud.CodeUnavailable {
		t.Errorf("Subscribe after Close: %v", err)
	}
	cancelA()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.fams) != 0 {
		t.Errorf("%d families still subscribed after the last client left", len(a.fams))
	}
}
