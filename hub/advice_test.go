package hub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// The cloud's advice takes the place of the hub's plan on Today only while
// it is based on news the hub has not applied, and only around the time it
// was made; otherwise Today says the hub's plan already has it.
func TestTodayWithTheCloudsAdvice(t *testing.T) {
	d0 := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	trip := uuid.New()
	mp := circadian.MemberPlan{Days: []circadian.Day{{Date: syncproto.DateOf(d0), TZ: "Europe/London", Start: d0, End: d0.Add(24 * time.Hour),
		Items: []circadian.Item{{Kind: circadian.ItemSleep, Start: d0, End: d0.Add(7 * time.Hour), Text: "Sleep"}}}}}
	raw, _ := json.Marshal(mp)
	plans := []StoredPlan{{TripID: trip, Plan: raw}}
	m := Member{ID: uuid.New(), Data: &syncproto.MemberUpserted{DisplayName: "Ada", HomeTZ: "America/Los_Angeles"}}
	stamp := func(h float64) syncproto.HLC { return syncproto.NewHLC(d0.Add(time.Duration(h*float64(time.Hour))), 0) }
	advice := &family.Advice{Member: m.ID, Start: d0.Add(time.Hour), TZ: "Europe/London", Stamp: family.Stamp{HLC: stamp(1.1), ID: uuid.New()},
		Data: &syncproto.RecommendationUpdated{TripID: trip, BasedOn: stamp(1), Items: []syncproto.Advice{
			{Kind: syncproto.AdviceSleep, Start: d0, End: d0.Add(9 * time.Hour)},
			{Kind: syncproto.AdviceLightSeek, Start: d0.Add(10 * time.Hour), End: d0.Add(11 * time.Hour)},
		}}}
	at := d0.Add(2 * time.Hour)

	cases := []struct {
		name    string
		news    syncproto.HLC
		at      time.Time
		ahead   bool
		nowEnds time.Time
	}{
		{"the cloud knew more", stamp(0.5), at, true, d0.Add(9 * time.Hour)},
		{"the hub has caught up", stamp(1), at, false, d0.Add(7 * time.Hour)},
		{"the hub knows more", stamp(3), at, false, d0.Add(7 * time.Hour)},
		{"the advice is too old for the moment", stamp(0.5), d0.Add(60 * time.Hour), false, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Today(m, plans, advice, tc.news, tc.at)
			if got.Cloud == nil || got.Cloud.Ahead != tc.ahead || got.Cloud.BasedOn != stamp(1).String() {
				t.Fatalf("cloud %+v, want ahead %v", got.Cloud, tc.ahead)
			}
			if tc.nowEnds.IsZero() {
				return
			}
			if len(got.Now) != 1 || !got.Now[0].End.Equal(tc.nowEnds) {
				t.Errorf("now %+v, want one sleep ending %s", got.Now, tc.nowEnds)
			}
			if tc.ahead && (len(got.Next) != 1 || got.Next[0].Kind != circadian.ItemLightSeek || got.Now[0].TZ != "Europe/London") {
				t.Errorf("next %+v, want the cloud's light in the plan's zone", got.Next)
			}
		})
	}
	if got := Today(m, plans, nil, stamp(0), at); got.Cloud != nil {
		t.Errorf("no advice came down, yet Today says %+v", got.Cloud)
	}
}
