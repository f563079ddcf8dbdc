package hub

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// TestWriteWhenTheLogFails: a write the log does not store is answered
// "unavailable", leaves nothing behind (no event, no family, nothing
// counted as accepted), and the same write succeeds once the log is back.
func TestWriteWhenTheLogFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		r := newRig(t, w.store)
		member := uuid.New()
		raws := w.f.raws(w.f.familyUpserted(), w.f.memberUpserted(member))
		r.log.failAfter = 0
		_, err := r.writer.Write(t.Context(), raws, true)
		if code := ErrorCodeOf(err); code != CodeUnavailable {
			t.Fatalf("error %v (code %q), want unavailable", err, code)
		}
		if n := len(r.log.stored()); n != 0 {
			t.Fatalf("%d events stored", n)
		}
		if f := r.writer.FamilyID(); f != uuid.Nil {
			t.Fatalf("the hub took family %s from a write that failed", f)
		}
		if n := r.metrics.counter(`zoner_hub_events_accepted_total{type="family.upserted"}`); n != 0 {
			t.Fatalf("%d events counted as accepted", n)
		}

		r.log.failAfter = -1
		written, err := r.writer.Write(t.Context(), raws, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(written) != 2 || written[0].Seq != 1 || written[1].Seq != 2 || r.writer.FamilyID() != w.f.id {
			t.Fatalf("after the log came back: %+v, family %s", written, r.writer.FamilyID())
		}
		if n := r.metrics.counter(`zoner_hub_events_accepted_total{type="member.upserted"}`); n != 1 {
			t.Fatalf("%d member events counted as accepted", n)
		}
	})
}

// TestWriteAfterAPartialAppend: a log that stored part of a batch before
// failing; the client's retry of the same batch stores each event once
// and answers with the sequences they have.
func TestWriteAfterAPartialAppend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		raws := w.f.raws(w.sleep(w.ada, uuid.Nil), w.meal(w.ada, uuid.Nil), w.meal(w.bo, uuid.Nil))
		r.log.failAfter = 1
		if _, err := r.writer.Write(t.Context(), raws, false); ErrorCodeOf(err) != CodeUnavailable {
			t.Fatalf("error %v, want unavailable", err)
		}
		r.log.failAfter = -1
		written, err := r.writer.Write(t.Context(), raws, false)
		if err != nil {
			t.Fatal(err)
		}
		stored := r.log.stored()
		if len(stored) != 3 {
			t.Fatalf("%d events in the log, want 3", len(stored))
		}
		for i, wr := range written {
			if wr.Seq != stored[i].Seq || !bytes.Equal(stored[i].Raw, raws[i]) {
				t.Errorf("answer %d: seq %d; the log holds it at %d", i, wr.Seq, stored[i].Seq)
			}
		}
		if n := r.metrics.counter(`zoner_hub_events_accepted_total{type="meal"}`); n != 2 {
			t.Errorf("%d meals counted as accepted, want 2", n)
		}
	})
}

// TestWriteRefusals: what is refused before the state is looked at, with
// its code, and counted by reason.
func TestWriteRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		ctx := t.Context()
		if _, err := r.writer.Write(ctx, nil, false); ErrorCodeOf(err) != CodeInvalid {
			t.Errorf("no events: %v", err)
		}
		if _, err := r.writer.Write(ctx, make([][]byte, MaxBatch+1), false); ErrorCodeOf(err) != CodeTooLarge {
			t.Errorf("too many events: %v", err)
		}
		badRaw := bytes.Replace(w.f.raw(w.sleep(w.ada, uuid.Nil)), []byte(`"tz":"Europe/London"`), []byte(`"tz":"Mars/Olympus"`), 1)
		_, err := r.writer.Write(ctx, [][]byte{w.f.raw(w.meal(w.bo, uuid.Nil)), badRaw, []byte(`{"id":`)}, false)
		if ErrorCodeOf(err) != CodeInvalid {
			t.Fatalf("invalid events: %v", err)
		}
		e := err.(*Error)
		if len(e.Problems) < 2 || e.Problems[0].Index != 1 || e.Problems[len(e.Problems)-1].Index != 2 {
			t.Errorf("problems %+v, want ones of events 1 and 2", e.Problems)
		}
		if len(r.log.stored()) != 0 {
			t.Error("a refused batch was stored")
		}
		if n := r.metrics.counter(`zoner_hub_events_rejected_total{reason="invalid"}`); n != 2 {
			t.Errorf("%d refusals counted as invalid, want 2 (no events; the bad zone)", n)
		}
		if n := r.metrics.counter(`zoner_hub_events_rejected_total{reason="too_large"}`); n != 1 {
			t.Errorf("%d refusals counted as too large", n)
		}
	})
}

// TestWriteOfANewerVersion: an event of a newer schema version is kept
// (the header is checked) but not applied.
func TestWriteOfANewerVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		raw := bytes.Replace(w.f.raw(w.sleep(w.ada, uuid.Nil)), []byte(`"v":1`), []byte(`"v":2`), 1)
		written, err := r.writer.Write(t.Context(), [][]byte{raw}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(written) != 1 || written[0].Applied || written[0].Seq != 1 {
			t.Fatalf("answer %+v", written)
		}
	})
}

// TestWriteNewerVersionBounds: an event of a newer schema version is
// checked as far as its envelope goes (its stamp, its member), kept only
// when small, and only up to MaxUnsupported of them.
func TestWriteNewerVersionBounds(t *testing.T) {
	v2 := func(raw []byte) []byte { return bytes.Replace(raw, []byte(`"v":1`), []byte(`"v":2`), 1) }
	tests := []struct {
		name  string
		held  int // newer-version events the hub already keeps
		raws  func(w *world) [][]byte
		code  ErrorCode
		index int
		path  string
		rule  string
	}{
		{name: "a new member", raws: func(w *world) [][]byte {
			m := uuid.New()
			return [][]byte{v2(w.f.raw(w.f.memberUpserted(m))), v2(w.f.raw(w.sleep(m, uuid.Nil)))}
		}},
		{name: "an unknown member", code: CodeInvalid, raws: func(w *world) [][]byte {
			return [][]byte{v2(w.f.raw(w.sleep(uuid.New(), uuid.Nil)))}
		}, path: "member_id", rule: "no member"},
		{name: "a removed member", code: CodeInvalid, raws: func(w *world) [][]byte {
			return [][]byte{v2(w.f.raw(w.meal(w.gone, uuid.Nil)))}
		}, path: "member_id", rule: "no member"},
		{name: "a stamp far ahead", code: CodeInvalid, raws: func(w *world) [][]byte {
			e := w.sleep(w.ada, uuid.Nil)
			e.HLC = syncproto.NewHLC(testNow.Add(24*time.Hour), 0)
			return [][]byte{v2(w.f.raw(e))}
		}, path: "hlc", rule: "24h0m0s ahead"},
		{name: "advice from a client", code: CodeInvalid, raws: func(w *world) [][]byte {
			return [][]byte{v2(w.f.raw(w.f.event(w.ada, &syncproto.RecommendationUpdated{BasedOn: w.f.clock.Now(), Items: []syncproto.Advice{}})))}
		}, path: "type", rule: "made by the cloud"},
		{name: "too large", code: CodeInvalid, raws: func(w *world) [][]byte {
			raw := v2(w.f.raw(w.meal(w.ada, uuid.Nil)))
			raw = bytes.Replace(raw, []byte(`"data":{`), []byte(`"data":{"notes":"`+strings.Repeat("z", MaxNewerVersionBytes)+`",`), 1)
			return [][]byte{w.f.raw(w.sleep(w.ada, uuid.Nil)), raw}
		}, index: 1, rule: "only up to 16384 bytes"},
		{name: "the last one the hub keeps", held: MaxUnsupported - 1, raws: func(w *world) [][]byte {
			return [][]byte{v2(w.f.raw(w.sleep(w.ada, uuid.Nil)))}
		}},
		{name: "one too many", held: MaxUnsupported - 1, code: CodeInvalid, raws: func(w *world) [][]byte {
			return [][]byte{w.f.raw(w.sleep(w.ada, uuid.Nil)), v2(w.f.raw(w.sleep(w.ada, uuid.Nil))), v2(w.f.raw(w.meal(w.ada, uuid.Nil)))}
		}, index: 1, path: "v", rule: "already keeps 999 events of newer versions, unapplied; it keeps at most 1000. Upgrade the hub"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, true)
				w.store.newer = tc.held
				r := newRig(t, w.store)
				raws := tc.raws(w)
				written, err := r.writer.Write(t.Context(), raws, false)
				if tc.code == "" {
					if err != nil || len(written) != len(raws) || written[0].Applied {
						t.Fatalf("answer %+v, %v", written, err)
					}
					return
				}
				if ErrorCodeOf(err) != tc.code {
					t.Fatalf("error %v, want code %s", err, tc.code)
				}
				e := err.(*Error)
				if len(e.Problems) != 1 || e.Problems[0].Index != tc.index || e.Problems[0].Path != tc.path || !strings.Contains(e.Problems[0].Rule, tc.rule) {
					t.Fatalf("problems %+v, want one at %d %q with %q", e.Problems, tc.index, tc.path, tc.rule)
				}
				if n := len(r.log.stored()); n != 0 {
					t.Fatalf("%d events stored from a refused batch", n)
				}
			})
		})
	}
}

// TestWriteOfAnIdWithOtherContent: re-sending a stored event, however it
// is spelled, is answered as the first time; an id already stored (or
// earlier in the batch) with different content refuses the whole batch
// as a conflict, naming the event and its id.
func TestWriteOfAnIdWithOtherContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		ctx := t.Context()
		first := w.meal(w.ada, uuid.Nil)
		written, err := r.writer.Write(ctx, w.f.raws(first), false)
		if err != nil {
			t.Fatal(err)
		}
		spelled := bytes.Replace(w.f.raw(first), []byte(`,"tz"`), []byte(`, "tz"`), 1) // the same event, spelled otherwise
		again, err := r.writer.Write(ctx, [][]byte{spelled}, false)
		if err != nil || again[0].Seq != written[0].Seq {
			t.Fatalf("an identical re-send: %+v, %v; want seq %d", again, err, written[0].Seq)
		}

		changed := first
		changed.Data = &syncproto.Meal{Kind: syncproto.MealDinner}
		fresh := w.sleep(w.ada, uuid.Nil)
		_, err = r.writer.Write(ctx, w.f.raws(fresh, changed), false)
		if ErrorCodeOf(err) != CodeConflict {
			t.Fatalf("different content under a stored id: %v, want conflict", err)
		}
		if e := err.(*Error); len(e.Problems) != 1 || e.Problems[0].Index != 1 || e.Problems[0].Path != "id" || e.Problems[0].Rule != ConflictRule {
			t.Fatalf("problems %+v", e.Problems)
		}

		other := w.sleep(w.bo, uuid.Nil)
		twin := other
		twin.MemberID = w.ada
		_, err = r.writer.Write(ctx, w.f.raws(other, twin), false)
		if ErrorCodeOf(err) != CodeConflict || err.(*Error).Problems[0].Index != 1 {
			t.Fatalf("one id twice in a batch with different content: %v, want a conflict at index 1", err)
		}
		if n := len(r.log.stored()); n != 1 {
			t.Fatalf("%d events in the log, want only the first", n)
		}
	})
}

// TestWriteWhileTheStoreIsStuck: a write whose events are durable is
// answered even if applying them stalls; the next write, which must be
// checked against them, is answered "unavailable" rather than checked
// against a stale state.
func TestWriteWhileTheStoreIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.store.applyErrs = 1 << 20
		r := newRig(t, w.store)
		written, err := r.writer.Write(t.Context(), w.f.raws(w.sleep(w.ada, uuid.Nil)), false)
		if err != nil || len(written) != 1 || written[0].Seq != 1 {
			t.Fatalf("first write: %+v, %v", written, err)
		}
		_, err = r.writer.Write(t.Context(), w.f.raws(w.meal(w.ada, uuid.Nil)), false)
		if ErrorCodeOf(err) != CodeUnavailable || !strings.Contains(err.Error(), "still applying") {
			t.Fatalf("second write: %v, want unavailable", err)
		}
		if n := len(r.log.stored()); n != 1 {
			t.Fatalf("%d events in the log", n)
		}
	})
}

// TestReceive: events from the cloud are validated but not checked
// against this hub's state; another family's and invalid ones are left
// out with a reason, repeats are stored once, and all are marked as from
// the cloud.
func TestReceive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		r := newRig(t, w.store)
		ctx := t.Context()
		other := newTestFamily(t)
		member := uuid.New()
		fam, sleep := w.f.familyUpserted(), w.sleep(member, uuid.Nil) // the member is unknown here
		raws := [][]byte{w.f.raw(fam), w.f.raw(sleep), w.f.raw(sleep), other.raw(other.familyUpserted()), []byte(`{}`)}
		n, refused, err := r.writer.Receive(ctx, raws, w.f.id)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(refused) != 2 || !strings.Contains(refused[0], "of family "+other.id.String()) {
			t.Fatalf("%d new, refused %q", n, refused)
		}
		stored := r.log.stored()
		if len(stored) != 2 || !stored[0].FromCloud || !stored[1].FromCloud {
			t.Fatalf("stored %+v", stored)
		}
		if r.writer.FamilyID() != w.f.id {
			t.Fatalf("the hub's family is %s after the family came from the cloud", r.writer.FamilyID())
		}
		// Again: nothing new.
		if n, _, err := r.writer.Receive(ctx, raws[:3], w.f.id); err != nil || n != 0 || len(r.log.stored()) != 2 {
			t.Fatalf("a repeat: %d new, %v; %d in the log", n, err, len(r.log.stored()))
		}
		// The hub belongs to its family: credentials of another are refused.
		if _, _, err := r.writer.Receive(ctx, [][]byte{other.raw(other.familyUpserted())}, other.id); ErrorCodeOf(err) != CodeConflict {
			t.Fatalf("another family's credentials: %v", err)
		}
		r.log.failAfter = 0
		if _, _, err := r.writer.Receive(ctx, w.f.raws(w.meal(member, uuid.Nil)), w.f.id); ErrorCodeOf(err) != CodeUnavailable {
			t.Fatalf("log down: %v", err)
		}
	})
}

// reply is a request's answer.
type reply struct {
	out []Written
	err error
}

// roundOf runs one round of writes of raws, in this order, and returns
// their answers.
func roundOf(t *testing.T, r *rig, batches ...[][]byte) []reply {
	t.Helper()
	reqs := make([]*request, len(batches))
	for i, raws := range batches {
		req, err := r.writer.newRequest(t.Context(), raws, false)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		reqs[i] = req
	}
	r.writer.round(reqs)
	out := make([]reply, len(reqs))
	for i, req := range reqs {
		written, err := r.writer.await(req)
		out[i] = reply{written, err}
	}
	return out
}

// storedIDs are the ids of the events in the log, in order.
func storedIDs(t *testing.T, l *memLog) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for _, e := range l.stored() {
		ids = append(ids, e.Header.ID)
	}
	return ids
}

// TestRoundCrossRequestReferences: the writes of one round are checked in
// arrival order, each against the state and the writes accepted before it:
// a member made by one write can be used by a later one, not by an earlier
// one, nor after the write that made it was refused.
func TestRoundCrossRequestReferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		// requests makes the round's writes; x is a member no write has
		// made before.
		requests func(w *world, x uuid.UUID) [][]syncproto.Envelope
		ok       []bool
	}{
		{"made, then used", func(w *world, x uuid.UUID) [][]syncproto.Envelope {
			return [][]syncproto.Envelope{{w.f.memberUpserted(x)}, {w.sleep(x, uuid.Nil)}}
		}, []bool{true, true}},
		{"used, then made", func(w *world, x uuid.UUID) [][]syncproto.Envelope {
			return [][]syncproto.Envelope{{w.sleep(x, uuid.Nil)}, {w.f.memberUpserted(x)}}
		}, []bool{false, true}},
		{"made by a refused write", func(w *world, x uuid.UUID) [][]syncproto.Envelope {
			return [][]syncproto.Envelope{{w.f.memberUpserted(x), w.meal(uuid.New(), uuid.Nil)}, {w.sleep(x, uuid.Nil)}}
		}, []bool{false, false}},
		{"removed, then used", func(w *world, x uuid.UUID) [][]syncproto.Envelope {
			return [][]syncproto.Envelope{{w.f.event(w.ada, &syncproto.MemberRemoved{})}, {w.meal(w.ada, uuid.Nil)}, {w.meal(w.bo, uuid.Nil)}}
		}, []bool{true, false, true}},
		{"a fact logged, then corrected", func(w *world, x uuid.UUID) [][]syncproto.Envelope {
			first := w.sleep(w.ada, uuid.Nil)
			return [][]syncproto.Envelope{{first}, {w.sleep(w.ada, first.ID)}, {w.retract(w.ada, first.ID)}}
		}, []bool{true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, true)
				r := newRig(t, w.store)
				reqs := tc.requests(w, uuid.New())
				batches := make([][][]byte, len(reqs))
				for i, es := range reqs {
					batches[i] = w.f.raws(es...)
				}
				var want []uuid.UUID
				for i, rep := range roundOf(t, r, batches...) {
					if got := rep.err == nil; got != tc.ok[i] {
						t.Fatalf("write %d: accepted %v, want %v (%v)", i, got, tc.ok[i], rep.err)
					}
					if rep.err != nil {
						if ErrorCodeOf(rep.err) != CodeInvalid {
							t.Errorf("write %d: %v, want a refusal", i, rep.err)
						}
						continue
					}
					for j, e := range reqs[i] {
						want = append(want, e.ID)
						if rep.out[j].ID != e.ID || rep.out[j].Seq != uint64(len(want)) {
							t.Errorf("write %d, event %d: %+v, want seq %d", i, j, rep.out[j], len(want))
						}
					}
				}
				if got := storedIDs(t, r.log); !slices.Equal(got, want) {
					t.Fatalf("log holds %v, want the accepted writes' %v", got, want)
				}
				if r.log.appends != 1 && len(want) > 0 {
					t.Errorf("%d appends for one round", r.log.appends)
				}
			})
		})
	}
}

// TestRoundDuplicateIDs: an id sent by two writes of a round is stored
// once and both get its sequence; sent with different content, the later
// write is refused as a conflict and the others stand.
func TestRoundDuplicateIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		meal, sleep := w.meal(w.ada, uuid.Nil), w.sleep(w.bo, uuid.Nil)
		changed := meal
		changed.Data = &syncproto.Meal{Kind: syncproto.MealDinner}
		spelled := bytes.Replace(w.f.raw(meal), []byte(`,"tz"`), []byte(`, "tz"`), 1)
		got := roundOf(t, r, w.f.raws(meal), [][]byte{spelled}, w.f.raws(changed), w.f.raws(sleep, meal))
		for i, want := range [][]uint64{{1}, {1}, nil, {2, 1}} {
			rep := got[i]
			if want == nil {
				if ErrorCodeOf(rep.err) != CodeConflict || rep.err.(*Error).Problems[0].Rule != ConflictRule {
					t.Errorf("write %d: %v, want a conflict", i, rep.err)
				}
				continue
			}
			if rep.err != nil || len(rep.out) != len(want) {
				t.Fatalf("write %d: %+v, %v", i, rep.out, rep.err)
			}
			for j, seq := range want {
				if rep.out[j].Seq != seq {
					t.Errorf("write %d, event %d: seq %d, want %d", i, j, rep.out[j].Seq, seq)
				}
			}
		}
		if ids := storedIDs(t, r.log); !slices.Equal(ids, []uuid.UUID{meal.ID, sleep.ID}) {
			t.Fatalf("log holds %v, want the meal and the sleep once", ids)
		}
		if n := r.metrics.counter(`zoner_hub_events_accepted_total{type="meal"}`); n != 1 {
			t.Errorf("%d meals counted as accepted, want 1", n)
		}
	})
}

// TestRoundAppendFailure: when the log fails to take a round, every write
// of it fails with nothing stored, and nothing of it counts for the next
// round's checks, whether or not an earlier round is still in flight.
func TestRoundAppendFailure(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		t.Run(fmt.Sprintf("in-flight=%v", inFlight), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, true)
				r := newRig(t, w.store)
				before := 0
				if inFlight {
					// A round appended and not yet applied: the next
					// rounds are checked against what it carries.
					w.store.applyErrs = 3
					req, err := r.writer.newRequest(t.Context(), w.f.raws(w.meal(w.ada, uuid.Nil)), false)
					if err != nil {
						t.Fatal(err)
					}
					r.writer.round([]*request{req})
					defer r.writer.await(req)
					before = 1
				}
				x := uuid.New()
				r.log.failAfter = 0
				got := roundOf(t, r, w.f.raws(w.f.memberUpserted(x)), w.f.raws(w.sleep(x, uuid.Nil)), w.f.raws(w.meal(w.ada, uuid.Nil), w.meal(w.bo, uuid.Nil)))
				for i, rep := range got {
					if ErrorCodeOf(rep.err) != CodeUnavailable || rep.err.(*Error).Message != NotStoredMessage {
						t.Errorf("write %d: %+v, %v; want unavailable", i, rep.out, rep.err)
					}
				}
				if n := len(r.log.stored()); n != before {
					t.Fatalf("%d events stored by a failed round", n-before)
				}
				r.log.failAfter = -1
				got = roundOf(t, r, w.f.raws(w.sleep(x, uuid.Nil)))
				if ErrorCodeOf(got[0].err) != CodeInvalid {
					t.Fatalf("a member made by a failed round was taken as existing: %+v, %v", got[0].out, got[0].err)
				}
			})
		})
	}
}

// TestRoundChecksAgainstRoundsInFlight: a write is checked against the
// writes appended before it and not yet applied, rather than waiting for
// them; each is answered once its events are applied.
func TestRoundChecksAgainstRoundsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.store.applyErrs = 3 // the projector is stuck for a while
		r := newRig(t, w.store)
		x := uuid.New()
		made, used := w.f.memberUpserted(x), w.sleep(x, uuid.Nil)
		replies := make(chan reply, 2)
		write := func(e syncproto.Envelope) {
			out, err := r.writer.Write(t.Context(), w.f.raws(e), false)
			replies <- reply{out, err}
		}
		go write(made)
		synctest.Wait()
		go write(used)
		synctest.Wait()
		if ids := storedIDs(t, r.log); !slices.Equal(ids, []uuid.UUID{made.ID, used.ID}) {
			t.Fatalf("while the first write is not applied, the log holds %v; want both writes", ids)
		}
		if len(replies) != 0 {
			t.Fatal("a write was answered before its events were applied")
		}
		for range 2 {
			rep := <-replies
			if rep.err != nil {
				t.Fatal(rep.err)
			}
		}
		if r.proj.Applied() != 2 {
			t.Fatalf("answered with %d events applied", r.proj.Applied())
		}
	})
}

// TestManyConcurrentWriters: concurrent writes, some refused, each get
// their own answer; the log holds exactly the accepted ones' events, once.
func TestManyConcurrentWriters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		r := newRig(t, w.store)
		const writers = 40
		events := make([][]syncproto.Envelope, writers)
		for i := range events {
			switch i % 4 {
			case 0:
				events[i] = []syncproto.Envelope{w.meal(w.ada, uuid.Nil)}
			case 1:
				events[i] = []syncproto.Envelope{w.sleep(w.bo, uuid.Nil), w.meal(w.bo, uuid.Nil)}
			case 2:
				events[i] = []syncproto.Envelope{w.meal(uuid.New(), uuid.Nil)} // no such member
			case 3:
				events[i] = []syncproto.Envelope{w.meal(w.ada, uuid.Nil), w.sleep(w.gone, uuid.Nil)} // removed
			}
		}
		replies := make([]reply, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				out, err := r.writer.Write(t.Context(), w.f.raws(events[i]...), false)
				replies[i] = reply{out, err}
			})
		}
		wg.Wait()
		seqOf := map[uint64]uuid.UUID{}
		for i, rep := range replies {
			if refused := i%4 >= 2; refused {
				if ErrorCodeOf(rep.err) != CodeInvalid {
					t.Errorf("write %d: %+v, %v; want refused", i, rep.out, rep.err)
				}
				continue
			}
			if rep.err != nil {
				t.Fatalf("write %d: %v", i, rep.err)
			}
			for j, wr := range rep.out {
				if wr.ID != events[i][j].ID || seqOf[wr.Seq] != uuid.Nil {
					t.Fatalf("write %d, event %d: %+v", i, j, wr)
				}
				seqOf[wr.Seq] = wr.ID
			}
		}
		stored := r.log.stored()
		if len(stored) != len(seqOf) {
			t.Fatalf("%d events stored, %d accepted", len(stored), len(seqOf))
		}
		for _, e := range stored {
			if seqOf[e.Seq] != e.Header.ID {
				t.Fatalf("the log holds %s at %d; the answers say %s", e.Header.ID, e.Seq, seqOf[e.Seq])
			}
		}
		t.Logf("%d writes in %d appends", writers, r.log.appends)
	})
}
