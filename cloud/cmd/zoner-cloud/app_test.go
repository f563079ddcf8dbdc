package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/internal/wait"
)

// The web UI's reads in the cloud answer as the family's hub does: a hub
// linked to zoner-cloud all sends its family up (the ingest path: NATS,
// the bridge, Kafka, the warehouse), and the cloud's state, today, trip
// plan and member log, read with a guardian's and a member's token, say
// what the hub's own API says for the same events.
func TestAllAppReadsMatchTheHub(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	depart := time.Now().Add(-36 * time.Hour).Truncate(time.Minute)
	fam := cloudtest.NewFamily(depart, "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	day := fam.Day(0)
	postEvents(t, hubURL+"/api/v1/events", day)

	guardian := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "guardian"))
	member := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "member", "-member", fam.Members[2].String()))
	base := fmt.Sprintf("%s/v1/families/%s", m.APIURL, fam.ID)

	// Every logged fact reaches the cloud.
	toddler := fam.Members[2]
	logPath := "/members/" + toddler.String() + "/log?days=4"
	var hubLog, cloudLog struct {
		Facts []struct {
			Event    json.RawMessage `json:"event"`
			Replaces json.RawMessage `json:"replaces"`
		} `json:"facts"`
	}
	if code := call(t, "GET", hubURL+"/api/v1"+logPath, "", nil, &hubLog); code != 200 || len(hubLog.Facts) == 0 {
		t.Fatalf("hub log: %d, %d facts", code, len(hubLog.Facts))
	}
	wait.For(t, 30*time.Second, "the toddler's log in the cloud", func() error {
		cloudLog.Facts = nil
		if code := call(t, "GET", base+logPath, member, nil, &cloudLog); code != 200 {
			return fmt.Errorf("cloud log: %d", code)
		}
		if len(cloudLog.Facts) != len(hubLog.Facts) {
			return fmt.Errorf("cloud log has %d facts, the hub's %d", len(cloudLog.Facts), len(hubLog.Facts))
		}
		return nil
	})
	for i := range hubLog.Facts {
		if !sameJSON(t, hubLog.Facts[i].Event, cloudLog.Facts[i].Event) {
			t.Errorf("log entry %d: hub %s, cloud %s", i, hubLog.Facts[i].Event, cloudLog.Facts[i].Event)
		}
	}

	// The family, its members and its trip.
	var hubFam, hubTrips, cloudState map[string]any
	call(t, "GET", hubURL+"/api/v1/family", "", nil, &hubFam)
	call(t, "GET", hubURL+"/api/v1/trips", "", nil, &hubTrips)
	if code := call(t, "GET", base+"/state", guardian, nil, &cloudState); code != 200 {
		t.Fatalf("cloud state: %d", code)
	}
	for _, k := range []string{"setup_required", "family", "members"} {
		if !reflect.DeepEqual(hubFam[k], cloudState[k]) {
			t.Errorf("state %s: hub %v, cloud %v", k, hubFam[k], cloudState[k])
		}
	}
	if !reflect.DeepEqual(hubTrips["trips"], cloudState["trips"]) {
		t.Errorf("trips: hub %v, cloud %v", hubTrips["trips"], cloudState["trips"])
	}

	// The trip's plans: the same days and items (made at other moments).
	var hubPlans, cloudPlans struct {
		Plans []struct {
			MemberID string          `json:"member_id"`
			Plan     json.RawMessage `json:"plan"`
			Error    string          `json:"error"`
		} `json:"plans"`
	}
	planPath := "/trips/" + fam.Trip.String() + "/plan"
	// The hub plans in the background: wait for its plans of the day.
	wait.For(t, 30*time.Second, "the hub's and the cloud's plans alike", func() error {
		hubPlans.Plans, cloudPlans.Plans = nil, nil
		call(t, "GET", hubURL+"/api/v1"+planPath, "", nil, &hubPlans)
		if code := call(t, "GET", base+planPath, member, nil, &cloudPlans); code != 200 || len(cloudPlans.Plans) != len(fam.Members) {
			return fmt.Errorf("cloud plans: %d, %d plans", code, len(cloudPlans.Plans))
		}
		if len(hubPlans.Plans) != len(cloudPlans.Plans) {
			return fmt.Errorf("plans: hub %d, cloud %d", len(hubPlans.Plans), len(cloudPlans.Plans))
		}
		for i, hp := range hubPlans.Plans {
			cp := cloudPlans.Plans[i]
			if hp.MemberID != cp.MemberID || hp.Error != cp.Error || !sameJSON(t, hp.Plan, cp.Plan) {
				return fmt.Errorf("plan of %s: hub and cloud differ (errors %q, %q)", hp.MemberID, hp.Error, cp.Error)
			}
		}
		return nil
	})

	// Today at moments of the day: the toddler napping, everyone asleep,
	// the morning after.
	var nap time.Time
	for _, e := range day {
		if e.MemberID == toddler && !e.End.IsZero() && e.End.Sub(e.Start) == 80*time.Minute {
			nap = e.Start
		}
	}
	for _, at := range []time.Time{nap.Add(30 * time.Minute), nap.Add(12 * time.Hour), nap.Add(20 * time.Hour)} {
		q := "/today?at=" + at.UTC().Format(time.RFC3339)
		var hubToday, cloudToday map[string]any
		call(t, "GET", hubURL+"/api/v1"+q, "", nil, &hubToday)
		if code := call(t, "GET", base+q, guardian, nil, &cloudToday); code != 200 {
			t.Fatalf("cloud today: %d", code)
		}
		// The advice each made of the cloud's: the hub's copy is the
		// cloud's, not its own.
		for _, out := range []map[string]any{hubToday, cloudToday} {
			for _, mn := range out["members"].([]any) {
				delete(mn.(map[string]any), "cloud")
			}
		}
		if !reflect.DeepEqual(hubToday, cloudToday) {
			h, _ := json.Marshal(hubToday)
			c, _ := json.Marshal(cloudToday)
			t.Errorf("today at %s:\nhub   %s\ncloud %s", at, h, c)
		}
		if at.Equal(nap.Add(30 * time.Minute)) {
			ms := cloudToday["members"].([]any)
			i := slices.IndexFunc(ms, func(v any) bool { return v.(map[string]any)["member_id"] == toddler.String() })
			if st, _ := ms[i].(map[string]any)["state"].(map[string]any); st == nil || st["kind"] != "napping" {
				t.Errorf("the toddler at the nap: %v", ms[i])
			}
		}
	}

	// How long the reads take, once the family's view is made (logged,
	// not checked: a shared machine's timings say little).
	for _, p := range []string{"/state", "/today", planPath, logPath} {
		var ds []time.Duration
		for range 200 {
			start := time.Now()
			call(t, "GET", base+p, guardian, nil, nil)
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		t.Logf("GET %s: p50 %s, p99 %s", p, ds[len(ds)/2], ds[len(ds)*99/100])
	}

	// Another family's token, and no token.
	other := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", "0193f000-0000-7000-8000-0000000000ff", "-role", "guardian"))
	for _, p := range []string{"/state", "/today", planPath, logPath} {
		if code := call(t, "GET", base+p, other, nil, nil); code != 403 {
			t.Errorf("another family's token on %s: %d", p, code)
		}
		if code := call(t, "GET", base+p, "", nil, nil); code != 401 {
			t.Errorf("no token on %s: %d", p, code)
		}
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
