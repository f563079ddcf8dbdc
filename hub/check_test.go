package hub

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// world is a family's state for the write checks: two live members, one
// removed, a live trip and a removed one, and one logged fact of each of
// the live members.
type world struct {
	f                *testFamily
	ada, bo, gone    uuid.UUID
	trip, oldTrip    uuid.UUID
	adaSleep, boMeal uuid.UUID
	knownID          uuid.UUID // an event already in the log
	setUp            bool      // the family exists
	store            *memStore
}

func newWorld(t *testing.T, setUp bool) *world {
	w := &world{f: newTestFamily(t), ada: uuid.New(), bo: uuid.New(), gone: uuid.New(), trip: uuid.New(), oldTrip: uuid.New(),
		adaSleep: uuid.New(), boMeal: uuid.New(), knownID: syncproto.NewID(), setUp: setUp, store: newMemStore()}
	s := w.store
	if setUp {
		s.family = &Family{ID: w.f.id, Name: "The Okafors", HomeTZ: "Europe/London"}
		s.members[w.ada] = &Member{ID: w.ada}
		s.members[w.bo] = &Member{ID: w.bo}
		s.members[w.gone] = &Member{ID: w.gone, Removed: true}
		s.trips[w.trip] = &Trip{ID: w.trip, Data: &syncproto.TripUpserted{TripID: w.trip, Legs: legs(), Travellers: []uuid.UUID{w.ada}}}
		s.trips[w.oldTrip] = &Trip{ID: w.oldTrip, Removed: true}
		s.facts[w.adaSleep] = &Fact{ID: w.adaSleep, MemberID: w.ada, Type: syncproto.TypeSleep}
		s.facts[w.boMeal] = &Fact{ID: w.boMeal, MemberID: w.bo, Type: syncproto.TypeMeal}
		s.eventSeq[w.knownID] = 7
	}
	return w
}

func (w *world) sleep(member uuid.UUID, supersedes uuid.UUID) syncproto.Envelope {
	return w.f.event(member, &syncproto.Sleep{Supersedes: supersedes})
}

func (w *world) meal(member uuid.UUID, supersedes uuid.UUID) syncproto.Envelope {
	return w.f.event(member, &syncproto.Meal{Kind: syncproto.MealLunch, Supersedes: supersedes})
}

func (w *world) retract(member, id uuid.UUID) syncproto.Envelope {
	return w.f.event(member, &syncproto.LogRetracted{EventID: id})
}

func (w *world) flight(trip uuid.UUID, leg int, flight string) syncproto.Envelope {
	return w.f.event(uuid.Nil, &syncproto.FlightUpdated{TripID: trip, Leg: leg, Flight: flight, Status: syncproto.FlightCancelled})
}

func (w *world) tripRemoved(trip uuid.UUID) syncproto.Envelope {
	return w.f.event(uuid.Nil, &syncproto.TripRemoved{TripID: trip})
}

// want is one problem a refusal must list: its index, path, and a part
// of its rule.
type want struct {
	index int
	path  string
	rule  string
}

// TestWriteChecks: the writer refuses a batch that does not fit the hub's
// state, all of it, and lists every problem; events earlier in the batch
// count as existing.
func TestWriteChecks(t *testing.T) {
	tests := []struct {
		name     string
		notSetUp bool
		linked   bool // the hub syncs as another family
		setup    bool
		batch    func(w *world) []syncproto.Envelope
		code     ErrorCode // "" when the batch is admitted
		problems []want
	}{
		{name: "facts of live members", batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.sleep(w.ada, w.adaSleep), w.meal(w.bo, w.boMeal), w.retract(w.ada, w.adaSleep),
				w.flight(w.trip, 1, "BA177"), w.f.tripUpserted(uuid.New(), w.ada, w.bo), w.tripRemoved(w.trip)}
		}},
		{name: "another family's event", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			e := w.sleep(w.ada, uuid.Nil)
			e.FamilyID = uuid.New()
			return []syncproto.Envelope{w.sleep(w.ada, uuid.Nil), e}
		}, problems: []want{{1, "family_id", "must be this hub's family"}}},
		{name: "unknown member", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.meal(uuid.New(), uuid.Nil)}
		}, problems: []want{{0, "member_id", "never added, or removed"}}},
		{name: "removed member", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.sleep(w.gone, uuid.Nil)}
		}, problems: []want{{0, "member_id", "never added, or removed"}}},
		{name: "unknown traveller", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.tripUpserted(uuid.New(), w.ada, w.gone)}
		}, problems: []want{{0, "data.travellers[1]", "no member"}}},
		{name: "removal of an unknown trip", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.tripRemoved(uuid.New()), w.tripRemoved(w.oldTrip)}
		}, problems: []want{{0, "data.trip_id", "no trip"}, {1, "data.trip_id", "no trip"}}},
		{name: "flight news of an unknown trip", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.flight(uuid.New(), 1, ""), w.flight(w.oldTrip, 1, "")}
		}, problems: []want{{0, "data.trip_id", "no trip"}, {1, "data.trip_id", "no trip"}}},
		{name: "flight news of a leg the trip lacks", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.flight(w.trip, 2, "")}
		}, problems: []want{{0, "data.leg", "the trip has 1 legs"}}},
		{name: "flight news of another flight", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.flight(w.trip, 1, "AA100")}
		}, problems: []want{{0, "data.flight", "leg 1 is flight BA177, not AA100"}}},
		{name: "supersedes an unknown fact", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.sleep(w.ada, uuid.New())}
		}, problems: []want{{0, "data.supersedes", "no logged event"}}},
		{name: "supersedes another member's fact", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.meal(w.ada, w.boMeal)}
		}, problems: []want{{0, "data.supersedes", "belongs to another member"}}},
		{name: "supersedes a fact of another type", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.meal(w.ada, w.adaSleep)}
		}, problems: []want{{0, "data.supersedes", "is a sleep, not a meal"}}},
		{name: "retraction of an unknown fact", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.retract(w.ada, uuid.New())}
		}, problems: []want{{0, "data.event_id", "no logged event"}}},
		{name: "retraction of another member's fact", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.retract(w.ada, w.boMeal)}
		}, problems: []want{{0, "data.event_id", "belongs to another member"}}},
		{name: "retraction by a removed member", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.retract(w.gone, w.adaSleep)}
		}, problems: []want{{0, "member_id", "no member"}}},
		{name: "recommendation from a client", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.event(w.ada, &syncproto.RecommendationUpdated{BasedOn: w.f.clock.Now(), Items: []syncproto.Advice{}})}
		}, problems: []want{{0, "type", "made by the cloud"}}},
		{name: "a stamp far ahead of the hub's clock", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			e := w.f.memberUpserted(w.ada)
			e.HLC = syncproto.NewHLC(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), 0)
			return []syncproto.Envelope{w.sleep(w.ada, uuid.Nil), e}
		}, problems: []want{{1, "hlc", "ahead of the hub's clock, which reads 2026-12-01T09:00:00Z; at most 5m0s ahead is accepted. Set the clock"}}},
		{name: "a stamp just over the limit", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			e := w.sleep(w.ada, uuid.Nil)
			e.HLC = syncproto.NewHLC(testNow.Add(syncproto.MaxClockAhead+time.Second), 0)
			return []syncproto.Envelope{e}
		}, problems: []want{{0, "hlc", "the stamp is 5m1s ahead"}}},
		{name: "a stamp within the limit", batch: func(w *world) []syncproto.Envelope {
			e := w.sleep(w.ada, uuid.Nil)
			e.HLC = syncproto.NewHLC(testNow.Add(syncproto.MaxClockAhead), 0)
			return []syncproto.Envelope{e}
		}},
		{name: "removal of a member never added", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.event(uuid.New(), &syncproto.MemberRemoved{})}
		}, problems: []want{{0, "member_id", "no member"}}},
		{name: "removal of a removed member, and of one added earlier in the batch", batch: func(w *world) []syncproto.Envelope {
			cy := uuid.New()
			return []syncproto.Envelope{w.f.event(w.gone, &syncproto.MemberRemoved{}), w.f.memberUpserted(cy), w.f.event(cy, &syncproto.MemberRemoved{})}
		}},
		{name: "every problem of the batch", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.sleep(w.gone, uuid.Nil), w.sleep(w.ada, uuid.Nil), w.retract(w.bo, uuid.New())}
		}, problems: []want{{0, "member_id", "no member"}, {2, "data.event_id", "no logged event"}}},
		{name: "setup when already set up", setup: true, code: CodeConflict, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.familyUpserted()}
		}},
		{name: "no family yet", notSetUp: true, code: CodeNoFamily, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.memberUpserted(uuid.New())}
		}},
		{name: "setup", notSetUp: true, setup: true, batch: func(w *world) []syncproto.Envelope {
			id := uuid.New()
			return []syncproto.Envelope{w.f.familyUpserted(), w.f.memberUpserted(id), w.f.tripUpserted(uuid.New(), id)}
		}},
		{name: "setup of a family other than the linked one", notSetUp: true, linked: true, setup: true, code: CodeConflict,
			batch: func(w *world) []syncproto.Envelope { return []syncproto.Envelope{w.f.familyUpserted()} }},
		{name: "events of a family other than the linked one", linked: true, code: CodeConflict,
			batch: func(w *world) []syncproto.Envelope { return []syncproto.Envelope{w.sleep(w.ada, uuid.Nil)} }},
		{name: "references to earlier events of the batch", batch: func(w *world) []syncproto.Envelope {
			cy, trip := uuid.New(), uuid.New()
			s := w.sleep(cy, uuid.Nil)
			s2 := w.sleep(cy, s.ID)
			return []syncproto.Envelope{w.f.memberUpserted(cy), s, s2, w.retract(cy, s2.ID),
				w.f.tripUpserted(trip, cy, w.bo), w.flight(trip, 1, "BA177"), w.tripRemoved(trip),
				w.f.memberUpserted(w.gone), w.meal(w.gone, uuid.Nil)}
		}},
		{name: "removals earlier in the batch", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			return []syncproto.Envelope{w.f.event(w.ada, &syncproto.MemberRemoved{}), w.sleep(w.ada, uuid.Nil),
				w.tripRemoved(w.trip), w.flight(w.trip, 1, ""), w.f.tripUpserted(uuid.New(), w.ada)}
		}, problems: []want{{1, "member_id", "no member"}, {3, "data.trip_id", "no trip"}, {4, "data.travellers[0]", "no member"}}},
		{name: "a fact of the batch superseded by another type", code: CodeInvalid, batch: func(w *world) []syncproto.Envelope {
			s := w.sleep(w.bo, uuid.Nil)
			return []syncproto.Envelope{s, w.meal(w.bo, s.ID), w.retract(w.ada, s.ID)}
		}, problems: []want{{1, "data.supersedes", "is a sleep, not a meal"}, {2, "data.event_id", "belongs to another member"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, !tc.notSetUp)
				r := newRig(t, w.store)
				if tc.linked {
					r.writer.LinkTo(uuid.New())
				}
				batch := tc.batch(w)
				written, err := r.writer.Write(t.Context(), w.f.raws(batch...), tc.setup)
				if tc.code == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if n := len(r.log.stored()); n != len(batch) || len(written) != len(batch) {
						t.Fatalf("%d of %d events stored, %d answers", n, len(batch), len(written))
					}
					for i, wr := range written {
						if wr.ID != batch[i].ID || wr.Seq != uint64(i+1) || !wr.Applied {
							t.Errorf("answer %d: %+v", i, wr)
						}
					}
					return
				}
				if got := ErrorCodeOf(err); got != tc.code {
					t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
				}
				if n := len(r.log.stored()); n != 0 {
					t.Errorf("%d events stored from a refused batch", n)
				}
				if tc.problems == nil {
					return
				}
				checkProblems(t, err, tc.problems)
			})
		})
	}
}

func checkProblems(t *testing.T, err error, want []want) {
	t.Helper()
	e, _ := err.(*Error)
	if e == nil || len(e.Problems) != len(want) {
		t.Fatalf("problems: %v, want %d", err, len(want))
	}
	for i, p := range e.Problems {
		w := want[i]
		if p.Index != w.index || p.Path != w.path || !strings.Contains(p.Rule, w.rule) || p.Code != syncproto.CodeInvalid {
			t.Errorf("problem %d: %+v, want index %d, path %s, rule with %q", i, p, w.index, w.path, w.rule)
		}
	}
}

// TestWriteRetryOfAKnownEvent: an event already in the log gets its
// sequence again and is not checked against today's state (the member it
// is about was removed since).
func TestWriteRetryOfAKnownEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		e := w.sleep(w.gone, uuid.Nil)
		e.ID = w.knownID
		w.store.raws[7] = w.f.raw(e)
		written, err := r.writer.Write(t.Context(), w.f.raws(e), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(written) != 1 || written[0].Seq != 7 || len(r.log.stored()) != 0 || r.log.appends != 0 {
			t.Fatalf("retry answered %+v, %d events appended in %d calls", written, len(r.log.stored()), r.log.appends)
		}
	})
}
