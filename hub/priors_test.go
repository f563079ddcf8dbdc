package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

var testPriors = []syncproto.ClockPrior{
	{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeLate, TauHours: 24.5, TauSDHours: 0.18, People: 40},
	{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeIntermediate, TauHours: 24.25, TauSDHours: 0.16, People: 120},
	// Nonsense, dropped.
	{AgeBand: syncproto.AgeChild, Chronotype: syncproto.ChronotypeEarly, TauHours: 30, TauSDHours: 0.2, People: 7},
	{AgeBand: syncproto.AgeTeen, Chronotype: syncproto.ChronotypeEarly, TauHours: 24.1, TauSDHours: 0, People: 7},
}

func TestPriorsSaveLoadLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), PriorsFile)
	p := NewPriors(path)
	if err := p.Load(); err != nil {
		t.Fatalf("Load with no file: %v", err)
	}
	if _, ok := p.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate); ok {
		t.Error("a prior before any was saved")
	}
	at := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	if err := p.Save(testPriors, at); err != nil {
		t.Fatal(err)
	}
	q := NewPriors(path)
	if err := q.Load(); err != nil {
		t.Fatal(err)
	}
	if !q.FetchedAt().Equal(at) {
		t.Errorf("FetchedAt %v, want %v", q.FetchedAt(), at)
	}
	c, ok := q.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate)
	if !ok || c.Tau != 24.5 || c.TauSD != 0.18 || c.People != 40 {
		t.Errorf("late adults: %+v, %t; want 24.5 ± 0.18 h from 40 people", c, ok)
	}
	// An unset chronotype is intermediate.
	if c, ok := q.Lookup(syncproto.AgeAdult, ""); !ok || c.Tau != 24.25 {
		t.Errorf("adults of no chronotype: %+v, %t; want the intermediate prior", c, ok)
	}
	for _, g := range []struct {
		band syncproto.AgeBand
		c    syncproto.Chronotype
	}{{syncproto.AgeChild, syncproto.ChronotypeEarly}, {syncproto.AgeTeen, syncproto.ChronotypeEarly}, {syncproto.AgeToddler, syncproto.ChronotypeLate}} {
		if c, ok := q.Lookup(g.band, g.c); ok {
			t.Errorf("%s %s: %+v, want none", g.band, g.c, c)
		}
	}
	// No temporary file is left beside it; the file is private.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want the priors' only", len(entries))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", fi.Mode(), err)
	}
	// A damaged file is an error, and the priors held stay.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := q.Load(); err == nil {
		t.Error("Load of a damaged file: no error")
	}
	if _, ok := q.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate); !ok {
		t.Error("a damaged file lost the priors held")
	}
}

type fakePriorsSource struct {
	up    atomic.Bool
	mu    sync.Mutex
	err   error
	calls int
}

func (f *fakePriorsSource) Linked() bool { return f.up.Load() }

func (f *fakePriorsSource) Priors(context.Context) ([]syncproto.ClockPrior, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return testPriors[:1], nil
}

func (f *fakePriorsSource) state(err error) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	return f.calls
}

// Priors are fetched when the link comes up, not while it is down; a
// failed fetch keeps what was held; the link coming up again fetches again.
func TestPriorsKeep(t *testing.T) {
	path := filepath.Join(t.TempDir(), PriorsFile)
	p := NewPriors(path)
	src := &fakePriorsSource{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.keep(ctx, src, nil, time.Now, 5*time.Millisecond, time.Hour)
	}()
	t.Cleanup(func() { cancel(); <-done })

	time.Sleep(30 * time.Millisecond)
	if n := src.state(nil); n != 0 {
		t.Fatalf("%d fetches while the link is down", n)
	}
	src.up.Store(true)
	wait.Until(t, 5*time.Second, "the priors fetched", func() (bool, string) {
		_, ok := p.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate)
		return ok, "none yet"
	})
	time.Sleep(30 * time.Millisecond)
	if n := src.state(errors.New("the cloud is busy")); n != 1 {
		t.Errorf("%d fetches while the link stayed up with fresh priors, want 1", n)
	}
	src.up.Store(false)
	time.Sleep(30 * time.Millisecond)
	src.up.Store(true)
	wait.Until(t, 5*time.Second, "a second fetch", func() (bool, string) {
		n := src.state(errors.New("the cloud is busy"))
		return n == 2, fmt.Sprintf("%d fetches", n)
	})
	if _, ok := p.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate); !ok {
		t.Error("a failed fetch lost the priors held")
	}
	q := NewPriors(path)
	if err := q.Load(); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Lookup(syncproto.AgeAdult, syncproto.ChronotypeLate); !ok {
		t.Error("the fetched priors were not saved")
	}
}
