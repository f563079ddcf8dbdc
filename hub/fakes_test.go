package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// memLog is an in-memory Log and Feed: events are kept in order, an id
// already held is a duplicate, and Next waits for the next appended event.
// failAfter, when not negative, makes Append store that many events of a
// call and then fail.
type memLog struct {
	mu        sync.Mutex
	events    []Event
	ids       map[uuid.UUID]uint64
	next      int           // index of the next event the feed delivers
	grew      chan struct{} // closed and replaced when events grow
	failAfter int
	appends   int // calls to Append
	resets    []uint64
}

func newMemLog() *memLog {
	return &memLog{ids: map[uuid.UUID]uint64{}, grew: make(chan struct{}), failAfter: -1}
}

var errLogDown = errors.New("the log's server is unreachable")

func (l *memLog) Append(ctx context.Context, events []Event) ([]Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.appends++
	var out []Appended
	for i, e := range events {
		if l.failAfter >= 0 && i >= l.failAfter {
			return nil, errLogDown
		}
		if seq, ok := l.ids[e.Header.ID]; ok {
			out = append(out, Appended{Seq: seq, Duplicate: true})
			continue
		}
		e.Seq = uint64(len(l.events) + 1)
		l.events = append(l.events, e)
		l.ids[e.Header.ID] = e.Seq
		out = append(out, Appended{Seq: e.Seq})
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return out, nil
}

func (l *memLog) LastSeq(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.events)), nil
}

func (l *memLog) Next(ctx context.Context, limit int) ([]Event, func() error, error) {
	for {
		l.mu.Lock()
		if l.next < len(l.events) {
			batch := append([]Event(nil), l.events[l.next:min(l.next+limit, len(l.events))]...)
			l.next += len(batch)
			l.mu.Unlock()
			return batch, func() error { return nil }, nil
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (l *memLog) Reset(ctx context.Context, start uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resets = append(l.resets, start)
	l.next = int(start) - 1
	return nil
}

func (l *memLog) stored() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// memStore is a map-backed Store for the write path and the re-planner.
// It does not fold events: tests set the state they need directly. Apply
// only records which events were applied, as the real store's EventSeq
// and AppliedSeq report them; applyErrs makes that many calls fail first.
type memStore struct {
	mu        sync.Mutex
	applied   uint64
	batches   [][]uint64 // the sequences of each applied batch
	applyErrs int
	changes   func([]Event) Changes // what Apply reports; nil for nothing
	eventSeq  map[uuid.UUID]uint64
	raws      map[uint64][]byte // the events' bytes by sequence
	newer     int               // events of a newer version, as Unsupported counts them
	family    *Family
	members   map[uuid.UUID]*Member
	trips     map[uuid.UUID]*Trip
	facts     map[uuid.UUID]*Fact
	tripsOf   map[uuid.UUID][]uuid.UUID
	tripsOfN  int // TripsOf calls
	inputs    map[uuid.UUID]*PlanInputs
	plans     []StoredPlan
	deleted   [][2]uuid.UUID // DeletePlans calls: trip, member
}

func newMemStore() *memStore {
	return &memStore{eventSeq: map[uuid.UUID]uint64{}, raws: map[uint64][]byte{}, members: map[uuid.UUID]*Member{}, trips: map[uuid.UUID]*Trip{},
		facts: map[uuid.UUID]*Fact{}, tripsOf: map[uuid.UUID][]uuid.UUID{}, inputs: map[uuid.UUID]*PlanInputs{}}
}

var errStoreDown = errors.New("the database is locked")

func (s *memStore) Apply(ctx context.Context, events []Event) (Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applyErrs > 0 {
		s.applyErrs--
		return Changes{}, errStoreDown
	}
	var seqs []uint64
	var fresh []Event
	for _, e := range events {
		if e.Seq <= s.applied {
			continue
		}
		h, err := syncproto.DecodeHeader(e.Raw)
		if err == nil {
			s.eventSeq[h.ID] = e.Seq
			s.raws[e.Seq] = e.Raw
			if h.V > syncproto.CurrentVersion {
				s.newer++
			}
		}
		s.applied = e.Seq
		seqs = append(seqs, e.Seq)
		fresh = append(fresh, e)
	}
	s.batches = append(s.batches, seqs)
	if s.changes == nil || len(fresh) == 0 {
		return Changes{}, nil
	}
	return s.changes(fresh), nil
}

func (s *memStore) AppliedSeq(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied, nil
}

func (s *memStore) MaxHLC(ctx context.Context) (syncproto.HLC, error) { return syncproto.HLC{}, nil }

func (s *memStore) Family(ctx context.Context) (*Family, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.family, nil
}

func (s *memStore) Members(ctx context.Context) ([]Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	for _, m := range s.members {
		out = append(out, *m)
	}
	return out, nil
}

func (s *memStore) Member(ctx context.Context, id uuid.UUID) (*Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members[id], nil
}

func (s *memStore) Trips(ctx context.Context) ([]Trip, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Trip
	for _, t := range s.trips {
		out = append(out, *t)
	}
	return out, nil
}

func (s *memStore) Trip(ctx context.Context, id uuid.UUID) (*Trip, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trips[id], nil
}

func (s *memStore) Fact(ctx context.Context, id uuid.UUID) (*Fact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.facts[id], nil
}

func (s *memStore) EventSeq(ctx context.Context, id uuid.UUID) (uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, ok := s.eventSeq[id]
	return seq, ok, nil
}

func (s *memStore) Unsupported(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newer, nil
}

// Events is the one event after q.After, the way the writer reads a
// stored event back.
func (s *memStore) Events(ctx context.Context, q EventQuery) ([]StoredEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok := s.raws[q.After+1]
	if !ok {
		return nil, nil
	}
	return []StoredEvent{{Seq: q.After + 1, Event: raw}}, nil
}

func (s *memStore) TripsOf(ctx context.Context, member uuid.UUID) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tripsOfN++
	return s.tripsOf[member], nil
}

func (s *memStore) PlanInputs(ctx context.Context, trip uuid.UUID) (*PlanInputs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inputs[trip], nil
}

func (s *memStore) SavePlans(ctx context.Context, plans []StoredPlan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plans = append(s.plans, plans...)
	return nil
}

func (s *memStore) DeletePlans(ctx context.Context, trip, member uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, [2]uuid.UUID{trip, member})
	return nil
}

func (s *memStore) Plans(ctx context.Context, trip, member uuid.UUID) ([]StoredPlan, error) {
	return nil, nil
}

func (s *memStore) Logged(context.Context, uuid.UUID, time.Time) ([]LoggedFact, error) {
	return nil, nil
}

func (s *memStore) Advice(context.Context, uuid.UUID) (*family.Advice, error) { return nil, nil }

func (s *memStore) NewsHLC(context.Context) (syncproto.HLC, error) { return syncproto.HLC{}, nil }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testFamily makes valid events of one family.
type testFamily struct {
	tb    testing.TB
	id    uuid.UUID
	clock *syncproto.Clock
}

var testNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newTestFamily(tb testing.TB) *testFamily {
	return &testFamily{tb: tb, id: syncproto.NewID(), clock: syncproto.NewClock(func() time.Time { return testNow })}
}

// event is an event of the family about member (uuid.Nil for none).
func (f *testFamily) event(member uuid.UUID, data syncproto.Payload) syncproto.Envelope {
	start, end := testNow, time.Time{}
	switch data.(type) {
	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		start, end = testNow.Add(-2*time.Hour), testNow.Add(-time.Hour)
	}
	return syncproto.Envelope{Header: syncproto.Header{
		ID: syncproto.NewID(), FamilyID: f.id, MemberID: member, Origin: "web:test",
		Type: data.Type(), Start: start, End: end, TZ: "Europe/London", HLC: f.clock.Now(), V: syncproto.CurrentVersion,
	}, Data: data}
}

func (f *testFamily) raw(e syncproto.Envelope) []byte {
	f.tb.Helper()
	b, err := syncproto.Marshal(e)
	if err != nil {
		f.tb.Fatalf("marshal %s: %v", e.Type, err)
	}
	return b
}

func (f *testFamily) raws(es ...syncproto.Envelope) [][]byte {
	f.tb.Helper()
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = f.raw(e)
	}
	return out
}

func (f *testFamily) familyUpserted() syncproto.Envelope {
	return f.event(uuid.Nil, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: "Europe/London"})
}

func (f *testFamily) memberUpserted(id uuid.UUID) syncproto.Envelope {
	return f.event(id, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
		SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)})
}

// legs is one flight, BA177 from London to New York.
func legs() []syncproto.Leg {
	dep := time.Date(2026, 12, 10, 11, 0, 0, 0, time.UTC)
	return []syncproto.Leg{{Flight: "BA177", From: "LHR", To: "JFK", FromTZ: "Europe/London", ToTZ: "America/New_York",
		Depart: dep, Arrive: dep.Add(8 * time.Hour)}}
}

func (f *testFamily) tripUpserted(trip uuid.UUID, travellers ...uuid.UUID) syncproto.Envelope {
	return f.event(uuid.Nil, &syncproto.TripUpserted{TripID: trip, Name: "New York", Legs: legs(), Travellers: travellers})
}

// rig is a writer and a projector over a log and a store, with the
// projector running until the test ends.
type rig struct {
	log     *memLog
	store   *memStore
	proj    *Projector
	writer  *Writer
	metrics *Metrics
}

// newRig sets the rig up; call it inside a synctest bubble, so that the
// projector's goroutine belongs to the bubble.
func newRig(t *testing.T, store *memStore) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &rig{log: newMemLog(), store: store, metrics: NewMetrics()}
	var err error
	if r.proj, err = NewProjector(ctx, store, r.log, r.log, discardLogger(), r.metrics, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.proj.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if r.writer, err = NewWriter(ctx, r.log, store, r.proj, syncproto.NewClock(func() time.Time { return testNow }), r.metrics); err != nil {
		t.Fatal(err)
	}
	return r
}

// counter reads one of the metrics' counters by its full name.
func (m *Metrics) counter(name string) uint64 { return m.set.GetOrCreateCounter(name).Get() }
