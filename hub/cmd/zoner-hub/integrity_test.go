package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/hub/natsjs"
	"github.com/zoner-family/zoner/syncproto"
)

type syncState struct {
	LogSeq     uint64 `json:"log_seq"`
	AppliedSeq uint64 `json:"applied_seq"`
}

func meals(f *family, n, round int) []byte {
	var es []syncproto.Envelope
	for i := range n {
		at := testNow.Add(-time.Duration(round*n+i+1) * 10 * time.Minute)
		es = append(es, f.event(f.ada, at, at.Add(5*time.Minute), "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack}))
	}
	return f.encode(es...)
}

// probe is what /healthz and /readyz answer.
func probe(c *client) (health string, ready int, readyBody string) {
	_, h := c.do("GET", "/healthz", nil)
	code, r := c.do("GET", "/readyz", nil)
	return string(h), code, string(r)
}

// A log whose last block lost its end, under a state database that
// applied it all, is repaired at start from the events the state holds:
// nothing acknowledged is lost and a new write is applied.
func TestTruncatedLogEndIsRepaired(t *testing.T) {
	dir := t.TempDir()
	f := newFamily(t)
	m := mustRun(t, dir)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	for round := range 4 {
		c.json("POST", "/api/v1/events", meals(f, 100, round), 200, nil)
	}
	var before syncState
	c.json("GET", "/api/v1/sync", nil, 200, &before)
	m.Close()

	truncateLogEnd(t, dir)

	m = mustRun(t, dir)
	c = &client{tb: t, base: m.URL}
	var after syncState
	c.json("GET", "/api/v1/sync", nil, 200, &after)
	if after.LogSeq != before.LogSeq || after.AppliedSeq != before.AppliedSeq {
		t.Fatalf("after the repair log_seq %d applied_seq %d, want both %d", after.LogSeq, after.AppliedSeq, before.LogSeq)
	}
	if _, code, body := probe(c); code != 200 {
		t.Fatalf("readyz after the repair: %d %s", code, body)
	}
	var w struct {
		Events []struct{ Seq uint64 } `json:"events"`
	}
	c.json("POST", "/api/v1/events", meals(f, 1, 1000), 200, &w)
	c.json("GET", "/api/v1/sync", nil, 200, &after)
	if after.AppliedSeq != before.LogSeq+1 || after.LogSeq != before.LogSeq+1 {
		t.Fatalf("a write after the repair: log_seq %d applied_seq %d, want %d", after.LogSeq, after.AppliedSeq, before.LogSeq+1)
	}
	count, _ := allEvents(c, 1000)
	if len(count) != int(after.LogSeq) {
		t.Fatalf("%d events in the state, want %d", len(count), after.LogSeq)
	}
}

// A hole in the log, past what the state applied: the hub starts without
// hanging, applies up to the hole, refuses writes and says why; rebuild
// ends with a report and changes nothing; rebuild -accept-loss rebuilds
// from what the log holds and the hub takes writes again.
func TestHoleInLogIsReportedNotWaitedOn(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hub.db")
	backup := filepath.Join(t.TempDir(), "backup.db")
	f := newFamily(t)
	m := mustRun(t, dir)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	var setup syncState
	c.json("GET", "/api/v1/sync", nil, 200, &setup)
	bdb, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.Exec("VACUUM INTO ?", backup); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	c.json("POST", "/api/v1/events", meals(f, 10, 0), 200, nil)
	hole := setup.LogSeq + 4
	js, err := jetstream.New(m.nats.Conn())
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), natsjs.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(context.Background(), hole); err != nil {
		t.Fatal(err)
	}
	m.Close()
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + s)
	}
	b, _ := os.ReadFile(backup)
	if err := os.WriteFile(dbPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	m = mustRun(t, dir)
	c = &client{tb: t, base: m.URL}
	t.Logf("started in %v", time.Since(start))
	health, code, body := probe(c)
	if code != 503 || !strings.Contains(body, "lacks events") || !strings.Contains(health, `"degraded"`) {
		t.Fatalf("a damaged log: readyz %d %s, healthz %s", code, body, health)
	}
	want := `"code":"unavailable"`
	if code, b := c.do("POST", "/api/v1/events", meals(f, 1, 100)); code != 503 || !strings.Contains(string(b), want) {
		t.Fatalf("a write to a damaged log: %d %s", code, b)
	}
	var s syncState
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if s.AppliedSeq != hole-1 {
		t.Errorf("applied up to %d, want %d (the hole is %d)", s.AppliedSeq, hole-1, hole)
	}
	m.Close()

	run := func(accept bool) (string, error) {
		r := NewMain()
		r.Command, r.DataDir, r.AcceptLoss = "rebuild", dir, accept
		var out bytes.Buffer
		r.Stdout = &out
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := r.Run(ctx)
		r.Close()
		return out.String(), err
	}
	start = time.Now()
	if _, err := run(false); err == nil || !strings.Contains(err.Error(), "sequences "+itoa(hole)) {
		t.Fatalf("rebuild over a hole: %v", err)
	} else {
		t.Logf("rebuild refused after %v: %v", time.Since(start), err)
	}
	out, err := run(true)
	if err != nil {
		t.Fatalf("rebuild -accept-loss: %v", err)
	}
	t.Logf("rebuild -accept-loss: %s", out)

	m = mustRun(t, dir)
	c = &client{tb: t, base: m.URL}
	if health, code, body := probe(c); code != 200 || strings.Contains(health, "degraded") {
		t.Fatalf("after the accepted loss: readyz %d %s, healthz %s", code, body, health)
	}
	c.json("POST", "/api/v1/events", meals(f, 1, 100), 200, nil)
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if s.AppliedSeq != s.LogSeq {
		t.Fatalf("after the accepted loss: %+v", s)
	}
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// A full disk: a write fails at once with storage_full, stores nothing of
// its batch, readiness says so; once space returns the hub takes writes
// with no restart.
func TestFullDiskRefusesWritesAndRecovers(t *testing.T) {
	var free atomic.Uint64
	free.Store(1 << 40)
	f := newFamily(t)
	m := mustRun(t, t.TempDir(), func(m *Main) { m.FreeSpace = func() (uint64, error) { return free.Load(), nil } })
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	var before syncState
	c.json("GET", "/api/v1/sync", nil, 200, &before)

	free.Store(10 << 20)
	start := time.Now()
	code, b := c.do("POST", "/api/v1/events", meals(f, 100, 0))
	took := time.Since(start)
	if code != 507 || !strings.Contains(string(b), `"code":"storage_full"`) || took > 2*time.Second {
		t.Fatalf("a write to a full disk: %d %s after %v", code, b, took)
	}
	t.Logf("refused in %v: %s", took, b)
	health, rcode, rbody := probe(c)
	if rcode != 503 || !strings.Contains(rbody, "disk is full") || !strings.Contains(health, "degraded") {
		t.Fatalf("full disk: readyz %d %s, healthz %s", rcode, rbody, health)
	}
	var s syncState
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if s.LogSeq != before.LogSeq {
		t.Fatalf("the refused batch left %d events in the log", s.LogSeq-before.LogSeq)
	}

	free.Store(1 << 40)
	if _, rcode, rbody := probe(c); rcode != 200 {
		t.Fatalf("readyz once space returned: %d %s", rcode, rbody)
	}
	c.json("POST", "/api/v1/events", meals(f, 100, 0), 200, nil)
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	if s.LogSeq != before.LogSeq+100 || s.AppliedSeq != s.LogSeq {
		t.Fatalf("after space returned: %+v, want 100 more than %d", s, before.LogSeq)
	}
}

// truncateLogEnd cuts the last block file of the hub's log in dir to half
// its size, and removes the log's index, as a crash of the disk under a
// stopped hub would: the log loses its last events.
func truncateLogEnd(t *testing.T, dir string) {
	t.Helper()
	blocks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "$G", "streams", natsjs.StreamName, "msgs", "*.blk"))
	sort.Strings(blocks)
	if len(blocks) == 0 {
		t.Fatal("no block files")
	}
	last := blocks[len(blocks)-1]
	fi, _ := os.Stat(last)
	if err := os.Truncate(last, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(filepath.Dir(last), "index.db"))
	t.Logf("truncated %s (%d blocks) from %d to %d bytes", filepath.Base(last), len(blocks), fi.Size(), fi.Size()/2)
}
