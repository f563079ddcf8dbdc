package hub

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/retry"
	"github.com/zoner-family/zoner/syncproto"
)

// Cloud is the hub's end of the link to the cloud.
type Cloud interface {
	// Linked reports whether the link is up now.
	Linked() bool
	// Rings is signalled when the cloud has stored a new event of the
	// family (perhaps one from another of its hubs).
	Rings() <-chan struct{}
	// Pending counts the log's events the cloud has not confirmed.
	Pending(ctx context.Context) (uint64, error)
	// Up sends the next events of the log, up to max, waiting up to wait
	// for one, and returns how many the cloud confirmed; only those are
	// marked sent.
	Up(ctx context.Context, max int, wait time.Duration) (int, error)
	// Fetch asks for the family's events stored after position after,
	// leaving out those this hub sent.
	Fetch(ctx context.Context, after uint64, max int) (syncproto.FetchReply, error)
}

// Settings keeps small values beside the state (the hub's place in the
// cloud's stream, when it was last in step).
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// SyncStatus is what the hub tells about its link.
type SyncStatus struct {
	Configured bool   `json:"configured"`
	Family     string `json:"family_id,omitempty"`
	Linked     bool   `json:"linked"`
	// Pending counts events recorded here that the cloud has not stored.
	Pending uint64 `json:"pending"`
	// LastSynced is when everything here was last in the cloud and
	// everything of the cloud here.
	LastSynced *time.Time `json:"last_synced,omitempty"`
	// Position is how far into the cloud's stream this hub has read.
	Position uint64 `json:"position,omitempty"`
	Sent     uint64 `json:"sent,omitempty"`
	Received uint64 `json:"received,omitempty"`
	// Refused counts events from the cloud this hub could not take (each
	// reason is logged).
	Refused   uint64 `json:"refused,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// Setting keys.
const (
	settingPosition   = "cloud.position"
	settingLastSynced = "cloud.last_synced"
)

// Syncer keeps the hub and the cloud in step: it sends every event of the
// log up, and applies what the cloud holds for the family (from its other
// hubs, and flight news) through the writer. Both directions retry for
// ever with backoff while the link is up, and wait for it while it is
// down.
type Syncer struct {
	cloud    Cloud
	writer   *Writer
	settings Settings
	family   uuid.UUID
	metrics  *Metrics
	logger   *slog.Logger

	mu       sync.Mutex
	status   SyncStatus
	downDone bool      // the last fetch brought everything the cloud had
	saved    time.Time // when LastSynced was last written down
}

// NewSyncer returns a syncer for family's link.
func NewSyncer(ctx context.Context, cloud Cloud, w *Writer, settings Settings, family uuid.UUID, m *Metrics, logger *slog.Logger) (*Syncer, error) {
	if f := w.FamilyID(); f != uuid.Nil && f != family {
		return nil, &Error{Code: CodeConflict, Message: "this hub belongs to family " + f.String() + " but its cloud credentials are for family " + family.String() + ": use the credentials of this hub's family"}
	}
	w.LinkTo(family)
	s := &Syncer{cloud: cloud, writer: w, settings: settings, family: family, metrics: m, logger: logger}
	s.status = SyncStatus{Configured: true, Family: family.String()}
	v, err := settings.Setting(ctx, settingPosition)
	if err != nil {
		return nil, err
	}
	if v != "" {
		if s.status.Position, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, errors.New("stored cloud position " + strconv.Quote(v) + " is not a number")
		}
	}
	if v, err = settings.Setting(ctx, settingLastSynced); err != nil {
		return nil, err
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		s.status.LastSynced = &t
	}
	return s, nil
}

// Status reports the link's state now.
func (s *Syncer) Status(ctx context.Context) SyncStatus {
	pending, err := s.cloud.Pending(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Linked = s.cloud.Linked()
	if err == nil {
		st.Pending = pending
	}
	var last time.Time
	if st.LastSynced != nil {
		last = *st.LastSynced
	}
	s.metrics.SyncState(st.Linked, st.Pending, last)
	return st
}

// Run syncs until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	// The uplink's fetch waits for the log's next event by itself; the
	// downlink sleeps until the cloud rings (or half a minute, in case a
	// ring was lost while the link was down).
	wg.Go(func() { s.loop(ctx, "uplink", s.up, uplinkBackoff, 0, nil) })
	wg.Go(func() { s.loop(ctx, "downlink", s.down, syncBackoff, 30*time.Second, s.cloud.Rings()) })
	wg.Go(func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			s.Status(ctx) // keeps the metrics current
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
}

// syncBackoff is the downlink's wait after failures in a row: 1 s
// doubling to 30 s, jittered.
var syncBackoff = retry.Policy{Initial: time.Second, Max: 30 * time.Second, Jitter: true}

// uplinkBackoff is the uplink's: 250 ms doubling to 5 s, jittered. Its
// failures are cheap to retry (what the cloud has already is dropped by
// id), and a cloud that just came back should not wait out a long one.
var uplinkBackoff = retry.Policy{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Jitter: true}

// linkPoll is how often a loop looks whether the link is up while it is
// down or while it waits after a failure.
const linkPoll = 200 * time.Millisecond

// loop runs step until ctx ends: at once again while it finds work, after
// idle (or a signal on wake) when it finds none, and with growing waits
// (per policy) while it fails. The failures are forgotten when the link
// goes down, and a wait after one ends when it does: once the link is
// back, step runs at once.
func (s *Syncer) loop(ctx context.Context, name string, step func(context.Context) (busy bool, err error), policy retry.Policy, idle time.Duration, wake <-chan struct{}) {
	failures := 0
	var linkedAt time.Time
	for ctx.Err() == nil {
		if !s.cloud.Linked() {
			linkedAt = time.Time{}
			failures = 0
			s.wait(ctx, linkPoll, nil)
			continue
		}
		if linkedAt.IsZero() {
			linkedAt = time.Now()
		}
		busy, err := step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			s.mu.Lock()
			s.status.LastError = name + ": " + PublicMessage(err, "failed; retrying (the reason is in the hub's log)")
			s.mu.Unlock()
			d := policy.Delay(failures)
			s.logger.Warn("sync: "+name+" failed; retrying", "err", err, "in", d.Round(time.Millisecond))
			s.waitLinked(ctx, d)
			continue
		}
		if failures > 0 {
			s.logger.Info("sync: " + name + " works again")
			s.mu.Lock()
			if strings.HasPrefix(s.status.LastError, name+": ") {
				s.status.LastError = "" // the other direction's stays
			}
			s.mu.Unlock()
		}
		failures = 0
		if !busy {
			s.settled(ctx)
			// Just after the link comes up the cloud may not yet know
			// where to ring: look again soon rather than wait for a ring.
			d := idle
			if time.Since(linkedAt) < 5*time.Second {
				d = min(d, time.Second)
			}
			s.wait(ctx, d, wake)
		}
	}
}

// waitLinked waits d, or until the link is seen down.
func (s *Syncer) waitLinked(ctx context.Context, d time.Duration) {
	for end := time.Now().Add(d); ctx.Err() == nil && s.cloud.Linked(); {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		s.wait(ctx, min(left, linkPoll), nil)
	}
}

func (s *Syncer) wait(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// upBatch is the most events one call of Up sends. Each call ends by
// waiting for its last confirmations, so a large one keeps the link busy.
const upBatch = 50000

// up sends one batch.
func (s *Syncer) up(ctx context.Context) (bool, error) {
	n, err := s.cloud.Up(ctx, upBatch, time.Second)
	if n > 0 {
		s.metrics.Sent(n)
		s.mu.Lock()
		s.status.Sent += uint64(n)
		s.mu.Unlock()
	}
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// down applies one batch of the family's events from the cloud.
func (s *Syncer) down(ctx context.Context) (bool, error) {
	s.mu.Lock()
	after := s.status.Position
	s.mu.Unlock()
	r, err := s.cloud.Fetch(ctx, after, 500)
	if err != nil {
		return false, err
	}
	s.logger.Debug("sync: fetched from the cloud", "after", after, "events", len(r.Events), "last", r.Last, "more", r.More)
	if len(r.Events) > 0 {
		n, refused, err := s.writer.Receive(ctx, r.Events, s.family)
		if err != nil {
			return false, err
		}
		for _, why := range refused {
			s.logger.Warn("sync: an event from the cloud was refused", "reason", why)
		}
		s.mu.Lock()
		s.status.Received += uint64(n)
		s.status.Refused += uint64(len(refused))
		s.mu.Unlock()
	}
	if r.Last > after {
		if err := s.settings.SetSetting(ctx, settingPosition, strconv.FormatUint(r.Last, 10)); err != nil {
			return false, err
		}
		s.mu.Lock()
		s.status.Position = r.Last
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.downDone = !r.More
	s.mu.Unlock()
	return r.More, nil
}

// settled notes the time when nothing waits in either direction.
func (s *Syncer) settled(ctx context.Context) {
	pending, err := s.cloud.Pending(ctx)
	if err != nil || pending > 0 || !s.cloud.Linked() {
		return
	}
	now := time.Now().UTC()
	s.mu.Lock()
	if !s.downDone {
		s.mu.Unlock()
		return
	}
	s.status.LastSynced = &now
	save := now.Sub(s.saved) > time.Minute
	if save {
		s.saved = now
	}
	s.mu.Unlock()
	if !save {
		return
	}
	if err := s.settings.SetSetting(ctx, settingLastSynced, now.Format(time.RFC3339Nano)); err != nil {
		s.logger.Warn("sync: could not save when the hub was last in step", "err", err)
	}
}
