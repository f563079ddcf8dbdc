//go:build integration

package soak

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// report is what a soak run measured.
type report struct {
	settings
	start, trafficEnd    time.Time
	posted, held, stored int
	kills                map[string]int
	cuts                 int

	// hub event stamped → row in RAW_EVENTS (INGESTED_AT), for events
	// posted while the family was linked and while it was cut off.
	stored0, storedCut []time.Duration
	// a day's logs stamped → every member's advice in Redis based on them.
	fresh0, freshCut []time.Duration
	unseen           int // days the poller had not yet seen reflected when it stopped
	lastIngested     time.Time
}

func (r *report) add(batches []*batch, rows []cloud.Row) {
	cut := map[uuid.UUID]bool{}
	for _, b := range batches {
		for _, id := range b.ids {
			cut[id] = b.offline
		}
		switch {
		case b.fresh == 0:
			r.unseen++
		case b.offline:
			r.freshCut = append(r.freshCut, b.fresh)
		default:
			r.fresh0 = append(r.fresh0, b.fresh)
		}
	}
	for _, row := range rows {
		offline, ours := cut[row.ID]
		if !ours {
			continue
		}
		h, err := syncproto.ParseHLC(row.HLC)
		if err != nil {
			continue
		}
		d := row.IngestedAt.Sub(h.Time())
		if offline {
			r.storedCut = append(r.storedCut, d)
		} else {
			r.stored0 = append(r.stored0, d)
		}
		r.lastIngested = later(r.lastIngested, row.IngestedAt)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *report) String() string {
	var b strings.Builder
	traffic := r.trafficEnd.Sub(r.start).Seconds()
	fmt.Fprintf(&b, "families %d, traffic %.0f s, kills %s, link cuts %d\n", r.families, traffic, kills(r.kills), r.cuts)
	fmt.Fprintf(&b, "events logged at the hubs %d (%.1f/s); held by the hubs with the cloud's own %d; in RAW_EVENTS %d, each once\n",
		r.posted, float64(r.posted)/traffic, r.held, r.stored)
	if !r.lastIngested.IsZero() {
		fmt.Fprintf(&b, "logged events stored per second, first stamp to last stored: %.1f/s\n",
			float64(r.posted)/r.lastIngested.Sub(r.start).Seconds())
	}
	fmt.Fprintf(&b, "the last logged event was stored %.1f s after the traffic stopped\n", max(0, r.lastIngested.Sub(r.trafficEnd).Seconds()))
	fmt.Fprintf(&b, "hub event → RAW_EVENTS, linked:       %s\n", percentiles(r.stored0))
	fmt.Fprintf(&b, "hub event → RAW_EVENTS, cut off:      %s\n", percentiles(r.storedCut))
	fmt.Fprintf(&b, "day's logs → fresh advice, linked:   %s\n", percentiles(r.fresh0))
	fmt.Fprintf(&b, "day's logs → fresh advice, cut off:  %s\n", percentiles(r.freshCut))
	fmt.Fprintf(&b, "days not yet seen in the advice when polling stopped (polled every 100 ms): %d\n", r.unseen)
	return b.String()
}

func kills(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n %d, p50 %s, p90 %s, p99 %s, max %s", len(s), round(at(0.5)), round(at(0.9)), round(at(0.99)), round(s[len(s)-1]))
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

// kind names a process without its number: ingest-2 is an ingest.
func kind(name string) string {
	if strings.HasPrefix(name, "hub-") {
		return "hub"
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		return name[:i]
	}
	return name
}
