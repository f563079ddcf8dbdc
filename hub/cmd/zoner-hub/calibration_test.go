package main

import (
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// clockJSON is GET /api/v1/members/{id}/clock.
type clockJSON struct {
	State    string                   `json:"state"`
	Summary  string                   `json:"summary"`
	Updating bool                     `json:"updating"`
	Clock    *circadian.PersonalClock `json:"clock"`
}

// TestCalibrationLearnsAClock: three weeks of nights logged well after the
// usual bedtime teach the hub that Ada's body clock runs late; the member
// says so in words, and her trip's plan is made from her own clock. A
// member with nothing logged is still "none", and the baby is never
// calibrated.
func TestCalibrationLearnsAClock(t *testing.T) {
	m := mustRun(t, t.TempDir())
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)

	var before clockJSON
	c.json("GET", "/api/v1/members/"+f.ada.String()+"/clock", nil, 200, &before)
	if before.State != "none" || !strings.Contains(before.Summary, "has not learned Ada's body clock") {
		t.Fatalf("before any night: %+v", before)
	}

	// Ada says 23:00–07:00, but goes to bed about 00:30 and gets up about
	// 08:20, night after night.
	la, _ := time.LoadLocation("America/Los_Angeles")
	var nights []syncproto.Envelope
	for d := 21; d >= 1; d-- {
		day := testNow.In(la).AddDate(0, 0, -d)
		jitter := time.Duration((d*37)%41-20) * time.Minute
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 30, 0, 0, la).Add(jitter)
		end := start.Add(7*time.Hour + 50*time.Minute - jitter/2)
		nights = append(nights, f.event(f.ada, start, end, "America/Los_Angeles", &syncproto.Sleep{}))
	}
	c.json("POST", "/api/v1/events", f.encode(nights...), 200, nil)

	var got clockJSON
	deadline := time.Now().Add(60 * time.Second)
	for {
		c.json("GET", "/api/v1/members/"+f.ada.String()+"/clock", nil, 200, &got)
		if got.Clock != nil && got.Clock.Nights >= 20 && !got.Updating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no clock learned from 21 nights within a minute: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Ada: %s (%+v)", got.Summary, *got.Clock)
	if got.State != "period" && got.State != "phase" {
		t.Fatalf("after 21 nights the hub plans from Ada's own clock: state %q, %s", got.State, got.Summary)
	}
	if !got.Clock.Confident() || got.Clock.Shift < 0.5 {
		t.Errorf("Ada's clock sits %.2f h ± %.2f from her usual bedtime; her nights say about 1.5 h later", got.Clock.Shift, got.Clock.ShiftSD)
	}
	if !strings.Contains(got.Summary, "21 nights") {
		t.Errorf("the summary does not say what it learned from: %q", got.Summary)
	}

	var kemi, tobi clockJSON
	c.json("GET", "/api/v1/members/"+f.kemi.String()+"/clock", nil, 200, &kemi)
	c.json("GET", "/api/v1/members/"+f.tobi.String()+"/clock", nil, 200, &tobi)
	if kemi.State != "none" || tobi.State != "none" || tobi.Clock != nil {
		t.Errorf("nothing logged for Kemi or Tobi: %+v, %+v", kemi, tobi)
	}
	c.json("GET", "/api/v1/members/"+syncproto.NewID().String()+"/clock", nil, 404, nil)

	// The trip's plan for Ada is made from her own clock.
	c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, nil)
	var plans struct {
		Plans []struct {
			MemberID string `json:"member_id"`
			Plan     *struct {
				PersonalClock *circadian.PersonalClock `json:"personal_clock"`
			} `json:"plan"`
		} `json:"plans"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		c.json("GET", "/api/v1/trips/"+f.trip.String()+"/plan", nil, 200, &plans)
		var ada, others int
		for _, p := range plans.Plans {
			switch {
			case p.Plan == nil:
			case p.MemberID == f.ada.String() && p.Plan.PersonalClock != nil && p.Plan.PersonalClock.Nights == got.Clock.Nights:
				ada++
			case p.MemberID != f.ada.String() && p.Plan.PersonalClock != nil:
				others++
			}
		}
		if others > 0 {
			t.Fatalf("a plan of someone with nothing logged claims a personal clock: %+v", plans)
		}
		if ada == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ada's plan does not use her learned clock: %+v", plans)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
