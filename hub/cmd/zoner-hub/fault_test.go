package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// onProjectorError calls hook once, synchronously, when the projector logs
// a failed step (before its 50 ms back-off), and passes every record on.
type onProjectorError struct {
	slog.Handler
	once *sync.Once
	hook func()
}

func (h onProjectorError) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.Handler.Enabled(ctx, l)
}

func (h onProjectorError) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && r.Message == "projector" {
		h.once.Do(h.hook)
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}
func (h onProjectorError) WithAttrs(a []slog.Attr) slog.Handler {
	return onProjectorError{h.Handler.WithAttrs(a), h.once, h.hook}
}
func (h onProjectorError) WithGroup(n string) slog.Handler {
	return onProjectorError{h.Handler.WithGroup(n), h.once, h.hook}
}

// injectFault makes every insert into events fail while the table fault
// has a row; the returned func clears it (a transient error: a disk that
// was full, an I/O error, a lock held past busy_timeout).
func injectFault(t *testing.T, dbPath string) (clear func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS fault (x INTEGER)",
		"INSERT INTO fault VALUES (1)",
		`CREATE TRIGGER IF NOT EXISTS inject_fault BEFORE INSERT ON events WHEN EXISTS (SELECT 1 FROM fault)
		 BEGIN SELECT RAISE(ABORT, 'injected transient fault'); END`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if _, err := db.Exec("DELETE FROM fault"); err != nil {
			t.Error(err)
		}
	}
}

func withFaultHook(clear func()) func(*Main) {
	return func(m *Main) {
		m.Logger = slog.New(onProjectorError{m.Logger.Handler(), &sync.Once{}, clear})
	}
}

// One transient failure to apply a batch, while later events are already in
// the log, must delay those events, not lose them. Here the state database
// is restored from a backup taken after setup, so the hub has 1000 events to
// catch up with (two fetches of 512); the first apply fails once.
func TestTransientApplyFailureDuringCatchUpLosesNothing(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hub.db")
	backup := filepath.Join(t.TempDir(), "backup.db")
	f := newFamily(t)

	m := mustRun(t, dir)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	bdb, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.Exec("VACUUM INTO ?", backup); err != nil { // an online backup
		t.Fatal(err)
	}
	bdb.Close()
	for round := range 2 {
		var es []syncproto.Envelope
		for i := range 500 {
			at := testNow.Add(-time.Duration(round*500+i+1) * 10 * time.Minute)
			es = append(es, f.event(f.ada, at, at.Add(5*time.Minute), "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack}))
		}
		c.json("POST", "/api/v1/events", f.encode(es...), 200, nil)
	}
	m.Close()

	// Restore the backup: the state is 1000 events behind the log.
	for _, s := range []string{"-wal", "-shm"} {
		os.Remove(dbPath + s)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	clear := injectFault(t, dbPath)

	start := time.Now()
	m = mustRun(t, dir, withFaultHook(clear))
	c = &client{tb: t, base: m.URL}
	var sync struct {
		LogSeq     uint64 `json:"log_seq"`
		AppliedSeq uint64 `json:"applied_seq"`
	}
	c.json("GET", "/api/v1/sync", nil, 200, &sync)
	count, _ := allEvents(c, 1000)
	t.Logf("ready after %v: log_seq %d, applied_seq %d, %d events in the state", time.Since(start), sync.LogSeq, sync.AppliedSeq, len(count))
	if len(count) != int(sync.LogSeq) {
		t.Errorf("the state holds %d of the log's %d events, yet says it applied up to %d", len(count), sync.LogSeq, sync.AppliedSeq)
	}
}

// The same without a restart: a setup write's events reach the projector in
// two fetches ([1] then [2..4]); a transient failure to apply the first must
// not lose the family.
func TestTransientApplyFailureDuringSetup(t *testing.T) {
	bad := 0
	const n = 3
	for i := range n {
		dir := t.TempDir()
		m := mustRun(t, dir)
		clear := injectFault(t, filepath.Join(dir, "hub.db")) // needs the schema: a first start makes it
		m.Close()
		m = mustRun(t, dir, withFaultHook(clear))
		f := newFamily(t)
		c := &client{tb: t, base: m.URL}
		c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
		// Applying may lag after a failure; wait until the hub says it
		// has applied the whole log (if it never does, the check below
		// says what is missing).
		if err := wait.Poll(30*time.Second, func() error {
			var s struct {
				LogSeq     uint64 `json:"log_seq"`
				AppliedSeq uint64 `json:"applied_seq"`
			}
			c.json("GET", "/api/v1/sync", nil, 200, &s)
			if s.AppliedSeq < s.LogSeq {
				return fmt.Errorf("applied %d of %d", s.AppliedSeq, s.LogSeq)
			}
			return nil
		}); err != nil {
			t.Logf("run %d: after 30 s, %v", i, err)
		}
		var fam struct {
			SetupRequired bool `json:"setup_required"`
			Members       []any
		}
		c.json("GET", "/api/v1/family", nil, 200, &fam)
		if len(fam.Members) != 3 {
			bad++
			sync := c.json("GET", "/api/v1/sync", nil, 200, nil)
			count, _ := allEvents(c, 1000)
			t.Errorf("run %d: %d members (setup_required %v) right after a 200 setup; sync %s; %d events in the state", i, len(fam.Members), fam.SetupRequired, sync, len(count))
		}
		m.Close()
	}
	t.Logf("%d/%d runs lost events", bad, n)
}
