package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// PriorsFile is the name of the priors' file in the hub's data directory.
const PriorsFile = "clock-priors.json"

// Priors are the population priors of the body clock the cloud learned
// from its members' calibrations, by age band and chronotype, kept in a
// JSON file so that an offline hub uses the last ones it had. Calibration
// takes a person's prior from Lookup, and the built-in one
// (circadian.DefaultClockPrior) when Lookup has none. Safe for concurrent
// use.
type Priors struct {
	path string

	// OnRefresh, when set, is called after new priors came from the
	// cloud (the calibrator learns everyone again from them).
	OnRefresh func()

	mu      sync.RWMutex
	byGroup map[priorKey]syncproto.ClockPrior
	fetched time.Time
}

type priorKey struct {
	band       syncproto.AgeBand
	chronotype syncproto.Chronotype
}

// priorsFile is the file's JSON.
type priorsFile struct {
	FetchedAt time.Time              `json:"fetched_at"`
	Priors    []syncproto.ClockPrior `json:"priors"`
}

// NewPriors returns empty priors kept at path (Load reads them).
func NewPriors(path string) *Priors {
	return &Priors{path: path, byGroup: map[priorKey]syncproto.ClockPrior{}}
}

// Load reads the file; a missing file is no priors and no error.
func (p *Priors) Load() error {
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the body clock's priors: %w", err)
	}
	var f priorsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("the body clock's priors %s: not the JSON the hub writes: %w", p.path, err)
	}
	p.set(f.Priors, f.FetchedAt)
	return nil
}

// Save replaces the priors with those fetched at `at` and writes the file
// (a new file renamed over the old, so a crash leaves one or the other).
// Priors that make no sense (a period outside 23–25.5 h, an sd that is
// not positive or over 2 h, no people) are dropped.
func (p *Priors) Save(priors []syncproto.ClockPrior, at time.Time) error {
	kept := p.set(priors, at)
	b, err := json.MarshalIndent(priorsFile{FetchedAt: at.UTC(), Priors: kept}, "", "  ")
	if err != nil {
		return fmt.Errorf("save the body clock's priors: %w", err)
	}
	if err := writeAtomic(p.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save the body clock's priors: %w", err)
	}
	return nil
}

// set replaces the priors in memory and returns those kept.
func (p *Priors) set(priors []syncproto.ClockPrior, at time.Time) []syncproto.ClockPrior {
	m := map[priorKey]syncproto.ClockPrior{}
	kept := []syncproto.ClockPrior{}
	for _, c := range priors {
		if c.AgeBand == "" || c.Chronotype == "" || c.People <= 0 || math.IsNaN(c.TauHours) || c.TauHours < 23 ||
			c.TauHours > 25.5 || !(c.TauSDHours > 0 && c.TauSDHours <= 2) {
			continue
		}
		m[priorKey{c.AgeBand, c.Chronotype}] = c
		kept = append(kept, c)
	}
	p.mu.Lock()
	p.byGroup, p.fetched = m, at
	p.mu.Unlock()
	return kept
}

// Lookup returns the prior of people of an age band and chronotype (""
// is intermediate, as the planner reads it), and false when the cloud
// sent none for them.
func (p *Priors) Lookup(ageBand syncproto.AgeBand, chronotype syncproto.Chronotype) (circadian.ClockPrior, bool) {
	if chronotype == "" {
		chronotype = syncproto.ChronotypeIntermediate
	}
	p.mu.RLock()
	c, ok := p.byGroup[priorKey{ageBand, chronotype}]
	p.mu.RUnlock()
	if !ok {
		return circadian.ClockPrior{}, false
	}
	return circadian.ClockPrior{Tau: c.TauHours, TauSD: c.TauSDHours, People: c.People}, true
}

// FetchedAt is when the priors held were fetched; zero for none.
func (p *Priors) FetchedAt() time.Time {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.fetched
}

// PriorsSource is where priors come from: the link to the cloud.
type PriorsSource interface {
	Linked() bool
	Priors(ctx context.Context) ([]syncproto.ClockPrior, error)
}

// How often the priors are refreshed.
const (
	// PriorsEvery is how old the priors get before they are fetched
	// again while the link is up.
	PriorsEvery = 24 * time.Hour
	// priorsPoll is how often the link is looked at; priorsRetry is the
	// wait after a failed fetch.
	priorsPoll  = 30 * time.Second
	priorsRetry = 15 * time.Minute
)

// Keep refreshes the priors from src until ctx ends: each time the link
// comes up, and while it is up once they are PriorsEvery old. A failure is
// logged and tried again later; the priors held stay as they were.
func (p *Priors) Keep(ctx context.Context, src PriorsSource, logger *slog.Logger) {
	p.keep(ctx, src, logger, time.Now, priorsPoll, priorsRetry)
}

func (p *Priors) keep(ctx context.Context, src PriorsSource, logger *slog.Logger, now func() time.Time, poll, retry time.Duration) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wasUp := false
	var tried time.Time
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		up := src.Linked()
		at := now()
		stale := at.Sub(p.FetchedAt()) >= PriorsEvery && at.Sub(tried) >= retry
		if up && (!wasUp || stale) {
			tried = at
			if err := p.refresh(ctx, src, at); err != nil {
				logger.Warn("the body clock's priors were not refreshed; the last ones are kept", "err", err)
			} else {
				logger.Info("the body clock's priors refreshed from the cloud", "groups", p.groups())
				if p.OnRefresh != nil {
					p.OnRefresh()
				}
			}
		}
		wasUp = up
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Priors) refresh(ctx context.Context, src PriorsSource, at time.Time) error {
	priors, err := src.Priors(ctx)
	if err != nil {
		return err
	}
	return p.Save(priors, at)
}

func (p *Priors) groups() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byGroup)
}

// writeAtomic writes b to a new file beside path, syncs it and renames it
// over path.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
