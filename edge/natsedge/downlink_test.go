package natsedge_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/syncproto"
)

// TestDownlinkPages: a hub catching up gets its family's events in pages,
// byte for byte, without another family's and without those it sent.
func TestDownlinkPages(t *testing.T) {
	ctx := context.Background()
	cloud := mustStart(t)
	svc := mustServeDownlink(t, cloud)
	js, _ := jetstream.New(svc)
	fam, other := uuid.New(), uuid.New()
	want := map[string]bool{}
	for i := range 2600 {
		f, hub := fam, "hub-b"
		switch {
		case i%5 == 0:
			f = other
		case i%7 == 0:
			hub = "hub-a" // the asking hub's own
		}
		msg := nats.NewMsg(syncproto.IngestSubject(f, syncproto.TypeMeal))
		msg.Data = []byte(`{"i": ` + uuid.NewString()[:4] + `, "id": "` + uuid.NewString() + `"}`)
		msg.Header.Set(syncproto.HeaderHub, hub)
		if _, err := js.PublishMsgAsync(msg); err != nil {
			t.Fatal(err)
		}
		if f == fam && hub == "hub-b" {
			want[string(msg.Data)] = true
		}
	}
	<-js.PublishAsyncComplete()
	a := leaf(t, cloud.LeafURL(), cloud.Credentials(fam))
	got := map[string]bool{}
	pages := 0
	for after, more := uint64(0), true; more; pages++ {
		req, _ := json.Marshal(syncproto.FetchRequest{After: after, Max: 5000, Hub: "hub-a"})
		msg, err := a.RequestWithContext(ctx, syncproto.FetchSubject(fam), req)
		if err != nil {
			t.Fatal(err)
		}
		r, err := syncproto.UnmarshalFetchReply(msg.Data)
		if err != nil || r.Error != "" {
			t.Fatalf("page %d: %v %s", pages, err, r.Error)
		}
		if len(r.Events) > 1000 || r.Last <= after && len(r.Events) > 0 {
			t.Fatalf("page %d: %d events, last %d after %d", pages, len(r.Events), r.Last, after)
		}
		for _, e := range r.Events {
			if !want[string(e)] {
				t.Fatalf("page %d holds %s, not one of the family's from another hub", pages, e)
			}
			got[string(e)] = true
		}
		after, more = r.Last, r.More
	}
	if len(got) != len(want) || pages < 2 {
		t.Fatalf("%d of %d events in %d pages", len(got), len(want), pages)
	}
}
