package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub/sealed"
	"github.com/zoner-family/zoner/syncproto"
)

// syncedLog is a buffer for a hub's log, safe to read while it writes.
type syncedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runKeyed runs the hub in dir with the store key, logging to log.
func runKeyed(t *testing.T, dir string, log *syncedLog) *Main {
	t.Helper()
	return mustRun(t, dir, func(m *Main) { m.StoreKey, m.Logger = atRestKey, newTestLogger(log) })
}

// stateOf is what a client sees of the family: the family, the events in
// order and the plans.
func stateOf(t *testing.T, c *client, f *family) (family string, events []uuid.UUID) {
	t.Helper()
	waitForPlans(t, c, f)
	_, events = allEvents(c, 1000)
	return string(c.json("GET", "/api/v1/family", nil, 200, nil)), events
}

// With a store key, a clean stop leaves a sealed snapshot of the state and
// nothing in plain text; the next start opens it instead of rebuilding,
// with the same state. A snapshot older than the log is caught up.
func TestSnapshotStartCatchesUp(t *testing.T) {
	dir := t.TempDir()
	var log syncedLog
	m := runKeyed(t, dir, &log)
	f := newFamily(t)
	events, secrets := quillfeathers(t, f)
	c := &client{tb: t, base: m.URL}
	writeQuillfeathers(t, c, f, events)
	c.json("POST", "/api/v1/events", meals(f, 200, 0), 200, nil)
	wantFamily, wantEvents := stateOf(t, c, f)
	m.Close()
	if !exists(filepath.Join(dir, snapshotFile)) {
		t.Fatal("no snapshot after a clean stop")
	}
	for _, s := range plainFiles(t, dir, secrets) {
		t.Errorf("with a snapshot, %s", s)
	}
	old, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		t.Fatal(err)
	}

	log = syncedLog{}
	m = runKeyed(t, dir, &log)
	c = &client{tb: t, base: m.URL}
	if !strings.Contains(log.String(), "opened the state from its snapshot") || strings.Contains(log.String(), "building the state database") {
		t.Errorf("the start did not open the snapshot:\n%s", log.String())
	}
	if gotFamily, gotEvents := stateOf(t, c, f); gotFamily != wantFamily || !equalIDs(gotEvents, wantEvents) {
		t.Errorf("state from the snapshot: %s, %d events; want %s, %d events", gotFamily, len(gotEvents), wantFamily, len(wantEvents))
	}
	c.json("POST", "/api/v1/events", meals(f, 100, 1), 200, nil)
	wantFamily, wantEvents = stateOf(t, c, f)
	m.Close()

	// The older snapshot: the start catches up the last 100 events.
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), old, 0o600); err != nil {
		t.Fatal(err)
	}
	log = syncedLog{}
	m = runKeyed(t, dir, &log)
	c = &client{tb: t, base: m.URL}
	if !strings.Contains(log.String(), "opened the state from its snapshot") {
		t.Errorf("the start did not open the older snapshot:\n%s", log.String())
	}
	if gotFamily, gotEvents := stateOf(t, c, f); gotFamily != wantFamily || !equalIDs(gotEvents, wantEvents) {
		t.Errorf("state from the older snapshot: %d events, want %d", len(gotEvents), len(wantEvents))
	}
	var s syncState
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if s.AppliedSeq != s.LogSeq || s.LogSeq != uint64(len(wantEvents)) {
		t.Errorf("after catching up: log %d, applied %d, want %d", s.LogSeq, s.AppliedSeq, len(wantEvents))
	}
}

func equalIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A snapshot that is altered, truncated, sealed with another key, for
// another purpose, or not a snapshot at all, is ignored with a line in
// the log: the state is rebuilt from the log and nothing is lost.
func TestSnapshotDamagedIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	var log syncedLog
	m := runKeyed(t, dir, &log)
	f := newFamily(t)
	events, _ := quillfeathers(t, f)
	c := &client{tb: t, base: m.URL}
	writeQuillfeathers(t, c, f, events)
	c.json("POST", "/api/v1/events", meals(f, 50, 0), 200, nil)
	wantFamily, wantEvents := stateOf(t, c, f)
	m.Close()
	path := filepath.Join(dir, snapshotFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	image, err := mustKey(t).Open(snapshotPurpose, good)
	if err != nil {
		t.Fatal(err)
	}
	sealWith := func(secret, purpose string, b []byte) []byte {
		k, err := sealed.NewKey(secret, sealed.ChaCha)
		if err != nil {
			t.Fatal(err)
		}
		out, err := k.Seal(purpose, b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"tampered", flipped},
		{"truncated", good[:len(good)/2]},
		{"wrong key", sealWith("another key", snapshotPurpose, image)},
		{"other purpose", sealWith(atRestKey, "settings", image)},
		{"image cut short", sealWith(atRestKey, snapshotPurpose, image[:len(image)-4096])},
		{"not a database", sealWith(atRestKey, snapshotPurpose, bytes.Repeat([]byte("not a database "), 1000))},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			log := syncedLog{}
			m := runKeyed(t, dir, &log)
			c := &client{tb: t, base: m.URL}
			if !strings.Contains(log.String(), "ignoring the state snapshot") || !strings.Contains(log.String(), "building the state database") {
				t.Errorf("a %s snapshot was not ignored:\n%s", tc.name, log.String())
			}
			if gotFamily, gotEvents := stateOf(t, c, f); gotFamily != wantFamily || !equalIDs(gotEvents, wantEvents) {
				t.Errorf("rebuilt state: %d events, want %d", len(gotEvents), len(wantEvents))
			}
			m.Close()
			// The clean stop replaced the damaged snapshot with a good one.
			if _, err := mustKey(t).ReadFile(path, snapshotPurpose); err != nil {
				t.Errorf("after the rebuild, the snapshot: %v", err)
			}
		})
	}
}

// A snapshot does not hide a log that lost its end: the integrity check
// runs against the snapshot's applied sequence and appends the lost events
// again from the state it holds.
func TestSnapshotAheadOfTruncatedLogRepairsIt(t *testing.T) {
	dir := t.TempDir()
	var log syncedLog
	m := runKeyed(t, dir, &log)
	f := newFamily(t)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	for round := range 4 {
		c.json("POST", "/api/v1/events", meals(f, 100, round), 200, nil)
	}
	var before syncState
	c.json("GET", "/api/v1/sync", nil, 200, &before)
	_, wantEvents := allEvents(c, 1000)
	m.Close()

	truncateLogEnd(t, dir)

	log = syncedLog{}
	m = runKeyed(t, dir, &log)
	c = &client{tb: t, base: m.URL}
	if !strings.Contains(log.String(), "opened the state from its snapshot") || !strings.Contains(log.String(), "repaired the event log") {
		t.Errorf("the start did not repair the log from the snapshot:\n%s", log.String())
	}
	var after syncState
	c.json("GET", "/api/v1/sync", nil, 200, &after)
	if after.LogSeq != before.LogSeq || after.AppliedSeq != before.AppliedSeq {
		t.Fatalf("after the repair log_seq %d applied_seq %d, want both %d", after.LogSeq, after.AppliedSeq, before.LogSeq)
	}
	if _, gotEvents := allEvents(c, 1000); !equalIDs(gotEvents, wantEvents) {
		t.Errorf("after the repair %d events, want %d", len(gotEvents), len(wantEvents))
	}
	if _, code, body := probe(c); code != 200 {
		t.Fatalf("readyz after the repair: %d %s", code, body)
	}
}

// kill -9 after a snapshot: the next start opens the snapshot and catches
// up the events written since, and no acknowledged event is lost.
func TestSnapshotCrashCatchesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary through a crash")
	}
	dir := t.TempDir()
	env := keyEnv(atRestKey)
	p := launchHub(t, dir, env...)
	c := &client{tb: t, base: p.base}
	f := newFamily(t)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	c.json("POST", "/api/v1/events", meals(f, 300, 0), 200, nil)
	var snap syncState
	c.json("GET", "/api/v1/sync", nil, 200, &snap)
	p.stop() // a clean stop: the snapshot holds every event so far
	if !exists(filepath.Join(dir, snapshotFile)) {
		t.Fatal("no snapshot after a clean stop")
	}

	p = launchHub(t, dir, env...)
	c = &client{tb: t, base: p.base}
	acked := map[uuid.UUID]bool{}
	for i := range 200 {
		at := testNow.Add(-time.Duration(10000+i) * time.Minute)
		e := f.event(f.kemi, at, at.Add(time.Minute), "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack})
		c.json("POST", "/api/v1/events", f.encode(e), 200, nil)
		acked[e.ID] = true
	}
	p.kill()

	logPath := filepath.Join(t.TempDir(), "hub.log")
	p = launchHubLogged(t, dir, logPath, env...)
	c = &client{tb: t, base: p.base}
	hubLog, _ := os.ReadFile(logPath)
	if !strings.Contains(string(hubLog), "opened the state from its snapshot") || !strings.Contains(string(hubLog), fmt.Sprintf(`"applied":%d}`, snap.AppliedSeq)) {
		t.Errorf("the start after the crash was not a catch-up from the snapshot:\n%s", hubLog)
	}
	count, _ := allEvents(c, 1000)
	for id := range acked {
		if count[id] != 1 {
			t.Errorf("acknowledged event %s is there %d times", id, count[id])
		}
	}
	var s syncState
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if want := snap.AppliedSeq + 200; s.LogSeq != want || s.AppliedSeq != want || len(count) != int(want) {
		t.Errorf("log %d, applied %d, %d distinct events; want %d", s.LogSeq, s.AppliedSeq, len(count), want)
	}
	resp, err := http.Get(p.base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz after the crash: %v %v", resp, err)
	}
	resp.Body.Close()
}
