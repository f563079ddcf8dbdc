package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

type writtenJSON = hub.Written

type resultsJSON struct {
	Results []hub.Written `json:"results"`
}

type plansJSON struct {
	Plans []hub.StoredPlan `json:"plans"`
}

type eventsJSON struct {
	Events []hub.StoredEvent `json:"events"`
	Next   uint64            `json:"next"`
}

// The household's first evening: set up, plan a trip, read the plans, log
// a nap and see the re-plan arrive.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m := mustRun(t, dir)
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)

	var fam struct {
		SetupRequired bool `json:"setup_required"`
	}
	c.json("GET", "/api/v1/family", nil, 200, &fam)
	if !fam.SetupRequired {
		t.Fatal("a new hub should say setup is required")
	}
	// Nothing but setup is accepted before there is a family.
	setup := f.setup()
	code, body := c.do("POST", "/api/v1/events", f.encode(setup[1]))
	if code != 409 || !strings.Contains(string(body), "setup_required") {
		t.Fatalf("write before setup: %d %s", code, body)
	}

	var res resultsJSON
	first := c.json("POST", "/api/v1/setup", f.encode(setup...), 200, &res)
	if len(res.Results) != 4 || res.Results[0].ID != setup[0].ID || res.Results[3].Seq != 4 || !res.Results[3].Applied {
		t.Fatalf("setup results: %+v", res.Results)
	}
	// A retry of the same batch is answered the same and stores nothing.
	again := c.json("POST", "/api/v1/setup", f.encode(setup...), 409, nil)
	if !strings.Contains(string(again), "already set up") {
		t.Fatalf("second setup: %s", again)
	}
	retry := c.json("POST", "/api/v1/events", f.encode(setup...), 200, nil)
	if !bytes.Equal(retry, first) {
		t.Fatalf("retried batch answered differently:\n%s\n%s", first, retry)
	}

	stream := subscribe(t, c)
	stream.waitFor(t, "hello", func(e sseEvent) bool { return e.Name == "hello" })

	var w writtenJSON
	c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, &w)
	if w.Seq != 5 {
		t.Fatalf("trip written at %d, want 5", w.Seq)
	}
	for _, id := range []uuid.UUID{f.ada, f.kemi, f.tobi} {
		stream.waitFor(t, "plan for "+id.String(), func(e sseEvent) bool {
			return e.Name == "plan" && e.Data["member_id"] == id.String() && e.Data["seq"].(float64) >= 5
		})
	}

	var plans plansJSON
	c.json("GET", "/api/v1/trips/"+f.trip.String()+"/plan", nil, 200, &plans)
	if len(plans.Plans) != 3 {
		t.Fatalf("%d plans, want 3", len(plans.Plans))
	}
	byMember := map[uuid.UUID]circadian.MemberPlan{}
	for _, p := range plans.Plans {
		if p.Error != "" {
			t.Fatalf("plan for %s: %s", p.MemberID, p.Error)
		}
		var mp circadian.MemberPlan
		if err := json.Unmarshal(p.Plan, &mp); err != nil {
			t.Fatal(err)
		}
		if len(mp.Days) < 10 {
			t.Errorf("%s: %d days in the plan", mp.Name, len(mp.Days))
		}
		byMember[p.MemberID] = mp
	}
	if byMember[f.tobi].Modelled || !byMember[f.kemi].Modelled {
		t.Errorf("the infant's plan is not modelled, the toddler's is: got %v, %v", byMember[f.tobi].Modelled, byMember[f.kemi].Modelled)
	}

	// In London on the morning after landing, each person has advice now
	// or next, in London time.
	var today struct {
		Members []hub.MemberNow `json:"members"`
	}
	c.json("GET", "/api/v1/today?at=2026-12-22T08:00:00Z", nil, 200, &today)
	if len(today.Members) != 3 {
		t.Fatalf("today: %d members", len(today.Members))
	}
	for _, mn := range today.Members {
		if mn.TripID == nil || *mn.TripID != f.trip || mn.TZ != "Europe/London" || len(mn.Now)+len(mn.Next) == 0 {
			t.Errorf("today for %s: %+v", mn.Name, mn)
		}
	}
	code, body = c.do("GET", "/api/v1/today?at=yesterday", nil)
	if code != 400 {
		t.Errorf("today with a bad time: %d %s", code, body)
	}

	code, cal := c.do("GET", "/api/v1/members/"+f.kemi.String()+"/calendar.ics", nil)
	if code != 200 || !strings.HasPrefix(string(cal), "BEGIN:VCALENDAR\r\n") || !strings.Contains(string(cal), "BEGIN:VEVENT") {
		t.Fatalf("calendar: %d %.200s", code, cal)
	}

	// Kemi skips her nap on arrival day and naps late instead: her plan is
	// recomputed from the log, the others' are not.
	before := plans.Plans
	nap := f.event(f.kemi, mustTime(t, "2026-12-21T16:30:00Z"), mustTime(t, "2026-12-21T17:10:00Z"), "Europe/London", &syncproto.Sleep{Nap: true})
	c.json("POST", "/api/v1/events", f.encode(nap), 200, &w)
	stream.waitFor(t, "Kemi's re-plan", func(e sseEvent) bool {
		return e.Name == "plan" && e.Data["member_id"] == f.kemi.String() && e.Data["seq"].(float64) >= float64(w.Seq)
	})
	var kemi plansJSON
	c.json("GET", "/api/v1/members/"+f.kemi.String()+"/plans", nil, 200, &kemi)
	if len(kemi.Plans) != 1 || kemi.Plans[0].Seq < w.Seq {
		t.Fatalf("Kemi's plans after the nap: %+v", kemi.Plans)
	}
	var ada plansJSON
	c.json("GET", "/api/v1/members/"+f.ada.String()+"/plans", nil, 200, &ada)
	for _, p := range before {
		if p.MemberID == f.ada && ada.Plans[0].Seq != p.Seq {
			t.Errorf("Ada's plan was recomputed for Kemi's nap (seq %d → %d)", p.Seq, ada.Plans[0].Seq)
		}
	}

	// The events listing pages through everything once.
	count, seen := allEvents(c, 2)
	if len(seen) != 6 || len(count) != 6 {
		t.Fatalf("paged through %d events (%d distinct), want 6", len(seen), len(count))
	}

	var sync struct {
		LogSeq     uint64 `json:"log_seq"`
		AppliedSeq uint64 `json:"applied_seq"`
	}
	c.json("GET", "/api/v1/sync", nil, 200, &sync)
	if sync.LogSeq != 6 || sync.AppliedSeq != 6 {
		t.Errorf("sync status: %+v", sync)
	}
	_, metrics := c.do("GET", "/metrics", nil)
	for _, want := range []string{`zoner_hub_events_accepted_total{type="sleep"} 1`, `zoner_hub_events_accepted_total{type="member.upserted"} 3`,
		`zoner_hub_events_rejected_total{reason="setup_required"} 1`, "zoner_hub_plan_seconds_count", "zoner_hub_projector_lag_events 0",
		`zoner_hub_http_request_seconds_count{route="/api/v1/events",method="POST",code="200"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Restart: the state is there, and a rebuild from the log gives the
	// same state.
	state := func(c *client) string {
		var b strings.Builder
		for _, p := range []string{"/api/v1/family", "/api/v1/trips", "/api/v1/events?limit=1000"} {
			b.Write(c.json("GET", p, nil, 200, nil))
		}
		return b.String()
	}
	want := state(c)
	m.Close()
	m = mustRun(t, dir)
	if got := state(&client{tb: t, base: m.URL}); got != want {
		t.Fatalf("state after restart differs:\n%s\n%s", want, got)
	}
	m.Close()
	if err := os.Remove(filepath.Join(dir, "hub.db")); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir)
	c = &client{tb: t, base: m.URL}
	if got := state(c); got != want {
		t.Fatalf("state rebuilt from the log differs:\n%s\n%s", want, got)
	}
	waitPlans(t, c, f.trip, 3)
}

// waitPlans waits until a trip has n plans (the re-planner works in the
// background after a start).
func waitPlans(t *testing.T, c *client, trip uuid.UUID, n int) plansJSON {
	t.Helper()
	var plans plansJSON
	wait.Until(t, 30*time.Second, fmt.Sprintf("%d plans for the trip", n), func() (bool, string) {
		plans = plansJSON{}
		c.json("GET", "/api/v1/trips/"+trip.String()+"/plan", nil, 200, &plans)
		return len(plans.Plans) == n, fmt.Sprintf("the trip has %d plans", len(plans.Plans))
	})
	return plans
}
