package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// startAll runs zoner-cloud all in this process on free ports; hubs link
// to leaf (a free port when empty).
func startAll(t *testing.T, dir, leaf string) *Main {
	t.Helper()
	if leaf == "" {
		leaf = proctest.FreeAddr(t)
	}
	m := NewMain()
	m.DataDir, m.LeafAddr, m.APIAddr, m.HTTPAddr = dir, leaf, "127.0.0.1:0", "127.0.0.1:0"
	m.RefreshEvery = time.Second
	m.Logger = testLogger()
	m.Stdout = &bytes.Buffer{}
	m.RatePerSecond, m.Burst = 1000, 1000
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// run1 runs a one-shot command of zoner-cloud and returns what it printed.
func run1(t testing.TB, args ...string) string {
	t.Helper()
	m := NewMain()
	var out bytes.Buffer
	m.Stdout, m.Logger = &out, testLogger()
	if err := m.ParseFlags(context.Background(), args); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("zoner-cloud %s: %v", strings.Join(args, " "), err)
	}
	m.Close()
	return out.String()
}

// linkedHub starts a hub linked to m with fam's credentials (made from
// the secret in dir) and sets the family and its trip up on it.
func linkedHub(t testing.TB, m *Main, dir string, fam *cloudtest.Family, args ...string) string {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "family.creds")
	if err := os.WriteFile(creds, []byte(run1(t, "creds", "-data", dir, "-family", fam.ID.String())), 0o600); err != nil {
		t.Fatal(err)
	}
	hubAddr := proctest.FreeAddr(t)
	hubURL := "http://" + hubAddr
	proctest.Start(t, "zoner-hub", proctest.Build(t, "github.com/zoner-family/zoner/hub/cmd/zoner-hub"), nil,
		append([]string{"-data", t.TempDir(), "-http", hubAddr, "-log-format", "json",
			"-cloud-url", "nats-leaf://" + m.LeafAddr, "-cloud-creds", creds, "-cloud-reconnect", "250ms"}, args...)...)
	proctest.WaitHTTP(t, hubURL+"/readyz")
	setup := fam.Setup()
	postEvents(t, hubURL+"/api/v1/setup", setup[:len(fam.Members)+1])
	postEvents(t, hubURL+"/api/v1/events", setup[len(fam.Members)+1:])
	return hubURL
}

// hubEvents lists the types of the events a hub holds.
func hubEvents(t *testing.T, hubURL string, typ syncproto.Type) []json.RawMessage {
	t.Helper()
	var out struct {
		Events []struct {
			Type  syncproto.Type  `json:"type"`
			Event json.RawMessage `json:"event"`
		} `json:"events"`
	}
	if code := call(t, "GET", hubURL+"/api/v1/events?limit=1000&type="+string(typ), "", nil, &out); code != 200 {
		t.Fatalf("hub events: %d", code)
	}
	var raws []json.RawMessage
	for _, e := range out.Events {
		raws = append(raws, e.Event)
	}
	return raws
}

// The single-machine form, as the README shows it: a hub linked to
// zoner-cloud all gets a recommendation for each member in the cloud's
// cache, served by the API to the family's guardian (and to no other
// family), sent down to the hub; a flight-status webhook reaches the hub as
// a flight.updated event; the analytics report prints.
func TestAllWithALinkedHub(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	depart := time.Now().Add(-36 * time.Hour).Truncate(time.Minute)
	fam := cloudtest.NewFamily(depart, "BA286")

	hubURL := linkedHub(t, m, dir, fam)
	day := fam.Day(0)
	postEvents(t, hubURL+"/api/v1/events", day)
	last := day[len(day)-1].HLC

	guardian := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "guardian"))
	for _, member := range fam.Members {
		url := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, member)
		wait.For(t, 30*time.Second, "a recommendation for every member", func() error {
			var rec cloud.Recommendation
			if code := call(t, "GET", url, guardian, nil, &rec); code != 200 {
				return fmt.Errorf("GET recommendation: %d", code)
			}
			if rec.BasedOn < last.String() {
				return fmt.Errorf("recommendation based on %s, not yet on the last event %s", rec.BasedOn, last)
			}
			if rec.Trip == nil || *rec.Trip != fam.Trip || rec.Problem != "" {
				return fmt.Errorf("recommendation without the trip: %+v", rec)
			}
			return nil
		})
	}
	// Another family's guardian reads nothing of this family.
	other := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", uuid.NewString(), "-role", "guardian"))
	url := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, fam.Members[0])
	if code := call(t, "GET", url, other, nil, nil); code != 403 {
		t.Errorf("another family's token read a recommendation: %d", code)
	}
	if code := call(t, "GET", m.APIURL+"/v1/analytics", guardian, nil, nil); code != 403 {
		t.Errorf("a guardian read the analytics: %d", code)
	}

	// The guardian's summary of the family; the analyst's aggregates.
	var sum cloud.FamilySummary
	if code := call(t, "GET", fmt.Sprintf("%s/v1/families/%s/summary", m.APIURL, fam.ID), guardian, nil, &sum); code != 200 {
		t.Fatalf("summary: %d", code)
	}
	if sum.Name != "The Testers" || len(sum.Members) != len(fam.Members) || len(sum.Trips) != 1 || sum.Members[0].Recommendation == nil {
		t.Errorf("summary: %+v", sum)
	}
	// The guardian downloads every event of the family, as JSON Lines;
	// nobody else may.
	exportURL := fmt.Sprintf("%s/v1/families/%s/export", m.APIURL, fam.ID)
	wait.For(t, 30*time.Second, "the day's events in the export", func() error {
		req, _ := http.NewRequest("GET", exportURL, nil)
		req.Header.Set("Authorization", "Bearer "+guardian)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jsonl" {
			return fmt.Errorf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		got := map[uuid.UUID]bool{}
		types := map[syncproto.Type]int{}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			e, err := syncproto.Unmarshal(line)
			if err != nil {
				return fmt.Errorf("export line %q: %v", line, err)
			}
			if e.FamilyID != fam.ID {
				t.Errorf("another family's event %s in the export", e.ID)
			}
			got[e.ID] = true
			types[e.Type]++
		}
		if types[syncproto.TypeFamilyUpserted] != 1 || types[syncproto.TypeMemberUpserted] != len(fam.Members) || types[syncproto.TypeTripUpserted] != 1 {
			return fmt.Errorf("export: %v, want the family, its %d members and the trip", types, len(fam.Members))
		}
		for _, e := range day {
			if !got[e.ID] {
				return fmt.Errorf("event %s (%s) not in the export of %d events", e.ID, e.Type, len(got))
			}
		}
		return nil
	})
	analyst := strings.TrimSpace(run1(t, "token", "-data", dir, "-role", "analyst"))
	for who, token := range map[string]string{"another family's guardian": other, "the analyst": analyst, "a member": strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "member", "-member", fam.Members[0].String()))} {
		if code := call(t, "GET", exportURL, token, nil, nil); code != 403 {
			t.Errorf("%s exported the family: %d", who, code)
		}
	}
	var a cloud.Analytics
	if code := call(t, "GET", m.APIURL+"/v1/analytics", analyst, nil, &a); code != 200 || a.Events == 0 || a.Families != 1 {
		t.Errorf("analytics: %d %+v", code, a)
	}
	if code := call(t, "GET", fmt.Sprintf("%s/v1/families/%s/summary", m.APIURL, fam.ID), analyst, nil, nil); code != 403 {
		t.Errorf("an analyst read a family's summary: %d", code)
	}
	// A member reads their own advice, not another member's.
	own := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "member", "-member", fam.Members[1].String()))
	for i, want := range []int{403, 200} {
		u := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, fam.Members[i])
		if code := call(t, "GET", u, own, nil, nil); code != want {
			t.Errorf("member token on member %d: %d, want %d", i, code, want)
		}
	}

	// The advice came down to the hub.
	wait.For(t, 30*time.Second, "the advice at the hub", func() error {
		if n := len(hubEvents(t, hubURL, syncproto.TypeRecommendationUpdated)); n < len(fam.Members) {
			return fmt.Errorf("hub holds %d recommendation.updated events, want one per member", n)
		}
		return nil
	})

	// A delay from the flight-status webhook reaches the hub.
	secret, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": "msg-1", "flight": "BA 286", "date": syncproto.DateOf(fam.Depart).String(),
		"status": "delayed", "depart": fam.Depart.Add(2 * time.Hour).Format(time.RFC3339),
		"arrive": fam.Arrive.Add(2 * time.Hour).Format(time.RFC3339)})
	var res cloud.FlightResult
	wait.For(t, 30*time.Second, "the flight news taken", func() error { // the trip must be in the warehouse first
		res = cloud.FlightResult{}
		code := call(t, "POST", m.APIURL+"/v1/webhooks/flight-status?secret="+string(secret), "", body, &res)
		if code != 200 || res.Trips != 1 {
			return fmt.Errorf("webhook: %d, %+v", code, res)
		}
		return nil
	})
	wait.For(t, 30*time.Second, "the flight news at the hub", func() error {
		for _, raw := range hubEvents(t, hubURL, syncproto.TypeFlightUpdated) {
			if e, err := syncproto.Unmarshal(raw); err == nil && e.ID == res.Events[0] {
				return nil
			}
		}
		return errors.New("the flight update has not reached the hub")
	})

	// The analyst's report prints from the same warehouse.
	m.Close()
	report := run1(t, "analytics", "-data", dir)
	if !strings.Contains(report, "Zoner analytics:") || !strings.Contains(report, "Days to adapt") {
		t.Errorf("report:\n%s", report)
	}
}

// zoner-cloud all keeps nothing of Kafka (kfake) across a restart, yet the
// warehouse ends with every event once: the bridge forwards the ingest
// stream again from its start, and the warehouse merges on id.
func TestAllRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	want := len(fam.Setup())
	for d := range 3 {
		day := fam.Day(d)
		postEvents(t, hubURL+"/api/v1/events", day)
		want += len(day)
		if d == 1 {
			m.Close() // mid-stream: some of day 1 may be in kfake only
			m = startAll(t, dir, m.LeafAddr)
		}
	}
	w, err := sqlite.Open(context.Background(), filepath.Join(dir, "warehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wait.For(t, time.Minute, "every event in the warehouse", func() error {
		rows, ids, err := w.Stats(context.Background())
		if err != nil {
			return err
		}
		if rows != ids {
			t.Fatalf("%d rows for %d ids", rows, ids)
		}
		// The cloud's own recommendation events are in the warehouse too.
		var own int64
		all, _ := w.Events(context.Background(), []uuid.UUID{fam.ID}, time.Time{})
		for _, r := range all {
			if r.Type == syncproto.TypeRecommendationUpdated {
				own++
			}
		}
		if ids-own != int64(want) {
			return fmt.Errorf("the warehouse holds %d of the family's %d events", ids-own, want)
		}
		return nil
	})
}
