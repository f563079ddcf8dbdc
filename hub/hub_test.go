package hub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

func TestPairing(t *testing.T) {
	var saved []byte
	p := NewPairing(nil, func(h []byte) error { saved = h; return nil })
	if p.HasToken() || p.Check("") {
		t.Fatal("a pairing without a token accepts something")
	}
	tok, err := p.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Check(tok) || p.Check(tok+"x") || p.Check("") {
		t.Error("check does not tell the token from others")
	}
	reloaded := NewPairing(saved, nil)
	if !reloaded.Check(tok) {
		t.Error("the saved hash does not check the token")
	}
	tok2, _ := p.Rotate()
	if p.Check(tok) || !p.Check(tok2) {
		t.Error("rotation kept the old token")
	}
}

func TestBrokerDropsSlowSubscribers(t *testing.T) {
	b := NewBroker()
	fast, cancelFast := b.Subscribe()
	defer cancelFast()
	slow, cancelSlow := b.Subscribe()
	defer cancelSlow()
	for i := range 100 {
		b.Publish(Notice{Kind: "events", Seq: uint64(i)})
		<-fast
	}
	n := 0
	for range slow {
		n++
	}
	if n != 64 || b.Subscribers() != 1 {
		t.Errorf("slow subscriber got %d before being dropped; %d subscribers left", n, b.Subscribers())
	}
}

func TestToday(t *testing.T) {
	trip := uuid.New()
	day := func(start time.Time, items ...circadian.Item) circadian.Day {
		return circadian.Day{Date: syncproto.DateOf(start), TZ: "Europe/London", Start: start, End: start.Add(24 * time.Hour), Items: items}
	}
	d0 := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	item := func(kind circadian.ItemKind, h0, h1 float64) circadian.Item {
		return circadian.Item{Kind: kind, Start: d0.Add(time.Duration(h0 * float64(time.Hour))), End: d0.Add(time.Duration(h1 * float64(time.Hour))), Text: string(kind)}
	}
	mp := circadian.MemberPlan{Days: []circadian.Day{day(d0, item("sleep", 0, 7), item("light_seek", 8, 9), item("meal", 8.5, 9), item("nap", 13, 14), item("meal", 18, 19), item("sleep", 22, 30))}}
	raw, _ := json.Marshal(mp)
	m := Member{ID: uuid.New(), Data: &syncproto.MemberUpserted{DisplayName: "Ada", HomeTZ: "America/Los_Angeles"}}
	plans := []StoredPlan{{TripID: trip, Plan: raw}}

	got := Today(m, plans, nil, syncproto.HLC{}, d0.Add(8*time.Hour+45*time.Minute))
	if got.TripID == nil || got.TZ != "Europe/London" || len(got.Now) != 2 || len(got.Next) != 3 || got.Next[0].Kind != "nap" {
		t.Errorf("during the trip: %+v", got)
	}
	before := Today(m, plans, nil, syncproto.HLC{}, d0.Add(-48*time.Hour))
	if before.TripID != nil || before.TZ != "America/Los_Angeles" || before.Note == "" {
		t.Errorf("before the trip: %+v", before)
	}
	after := Today(m, plans, nil, syncproto.HLC{}, d0.Add(48*time.Hour))
	if after.TripID != nil || after.Note != "No trip in progress and none planned." {
		t.Errorf("after the trip: %+v", after)
	}
}
