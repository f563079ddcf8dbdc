package cloud

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/syncproto"
)

// trip builds a family's events: set-up and days 0..days-1 after landing.
func trip(t *testing.T, days int) (*cloudtest.Family, []syncproto.Envelope) {
	t.Helper()
	depart := time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC).Add(8 * time.Hour) // 18:00 in California
	f := cloudtest.NewFamily(depart, "BA286")
	es := f.Setup()
	for n := range days {
		es = append(es, f.Day(n)...)
	}
	return f, es
}

func fold(id [16]byte, es []syncproto.Envelope) *Family {
	fam := NewFamily(id)
	for _, e := range es {
		fam.Apply(e)
	}
	return fam
}

func TestFoldIsOrderIndependentAndIdempotent(t *testing.T) {
	f, es := trip(t, 4)
	// A correction and a retraction, so that "counts" is exercised.
	first := es[len(es)-1]
	fix := f.Event(first.MemberID, first.Start.Add(10*time.Minute), cloudtest.Away, &syncproto.Sleep{Nap: true, Supersedes: first.ID})
	fix.End = fix.Start.Add(time.Hour)
	meal := es[len(es)-3]
	undo := f.Event(meal.MemberID, meal.Start, cloudtest.Away, &syncproto.LogRetracted{EventID: meal.ID})
	es = append(es, fix, undo)

	want := fold(f.ID, es)
	shuffled := append([]syncproto.Envelope(nil), es...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	got := fold(f.ID, append(shuffled, es...)) // every event twice
	for _, m := range f.Members {
		if !reflect.DeepEqual(got.Logs(m), want.Logs(m)) {
			t.Errorf("member %s: logs differ by arrival order", m)
		}
	}
	if got.Newest != want.Newest || got.Name() != want.Name() || len(got.LiveTrips()) != 1 {
		t.Errorf("state differs: newest %s vs %s, name %q vs %q, trips %d", got.Newest, want.Newest, got.Name(), want.Name(), len(got.LiveTrips()))
	}
	logs := want.Logs(first.MemberID)
	for _, l := range logs {
		if l.Start.Equal(first.Start) && l.Kind == circadian.LogNap {
			t.Errorf("the superseded nap still counts")
		}
	}
	for _, l := range want.Logs(meal.MemberID) {
		if l.Kind == circadian.LogMeal && l.Start.Equal(meal.Start) {
			t.Errorf("the retracted meal still counts")
		}
	}
	// A removal that is newer wins; an older upsert arriving later does not
	// bring the trip back.
	trip := es[len(f.Members)+1]
	rm := f.Event(trip.MemberID, trip.Start, cloudtest.Home, &syncproto.TripRemoved{TripID: f.Trip})
	fam := fold(f.ID, append([]syncproto.Envelope{rm}, es...))
	if n := len(fam.LiveTrips()); n != 0 {
		t.Errorf("trip removed by a newer event is still live (%d trips)", n)
	}
}

func TestRecommendDuringTheTrip(t *testing.T) {
	f, es := trip(t, 2)
	fam := fold(f.ID, es)
	now := f.Arrive.Add(26 * time.Hour) // the morning after landing
	pl := &circadian.Planner{}
	adult := f.Members[0]
	rec, err := Recommend(pl, fam, adult, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Problem != "" || rec.Trip == nil || *rec.Trip != f.Trip {
		t.Fatalf("recommendation has no trip: problem %q", rec.Problem)
	}
	if rec.Misalignment == nil || *rec.Misalignment == 0 {
		t.Errorf("an adult a day after an 8-hour flight east should be misaligned; got %v", rec.Misalignment)
	}
	if len(rec.Next) == 0 {
		t.Errorf("no advice for the next 24 hours")
	}
	if rec.BasedOn != fam.Newest.String() || rec.Version != RecommendationVersion || !rec.ComputedAt.Equal(now.UTC()) {
		t.Errorf("based_on %s version %d computed_at %s", rec.BasedOn, rec.Version, rec.ComputedAt)
	}
	again, _ := Recommend(pl, fam, adult, now)
	if again.Fingerprint() != rec.Fingerprint() {
		t.Errorf("the same state and time give different fingerprints")
	}
	raw, e, err := rec.Event(syncproto.NewClock(nil), cloudtest.Home)
	if err != nil || e == nil {
		t.Fatalf("event: %v", err)
	}
	back, err := syncproto.Unmarshal(raw)
	if err != nil {
		t.Fatalf("the downlink event does not decode: %v", err)
	}
	d := back.Data.(*syncproto.RecommendationUpdated)
	if back.MemberID != adult || d.TripID != f.Trip || len(d.Items) == 0 || back.HLC.Compare(fam.Newest) <= 0 {
		t.Errorf("downlink event: member %s trip %s items %d hlc %s (newest %s)", back.MemberID, d.TripID, len(d.Items), back.HLC, fam.Newest)
	}
	if back.TZ != cloudtest.Away {
		t.Errorf("event zone %s, want where the member is: %s", back.TZ, cloudtest.Away)
	}

	if _, err := Recommend(pl, fam, syncproto.NewID(), now); CodeOf(err) != CodeNotFound {
		t.Errorf("unknown member: %v, want not_found", err)
	}
	long := f.Depart.Add(-60 * 24 * time.Hour)
	rec, _ = Recommend(pl, fam, adult, f.Arrive.Add(60*24*time.Hour))
	if rec.Trip != nil || rec.Problem == "" {
		t.Errorf("two months after the trip: trip %v, problem %q", rec.Trip, rec.Problem)
	}
	if raw, e, _ := rec.Event(syncproto.NewClock(nil), cloudtest.Home); raw != nil || e != nil {
		t.Errorf("a recommendation without a trip is sent down")
	}
	if rec, _ = Recommend(pl, fam, adult, long); rec.Trip == nil {
		// Two months ahead there is still a next trip to point at.
		t.Errorf("two months before the trip: no trip")
	}
}

// A member edited from a device whose clock is years ahead is not frozen:
// the next edit stamped at a plausible time wins, in the cloud as on a hub.
func TestFarFutureStampDoesNotFreezeAMember(t *testing.T) {
	fam, member := syncproto.NewID(), syncproto.NewID()
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	event := func(at time.Time, name string) syncproto.Envelope {
		return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: fam, MemberID: member, Origin: "hub:test",
			Type: syncproto.TypeMemberUpserted, Start: time.Now().UTC().Truncate(time.Second), TZ: "Europe/London",
			HLC: syncproto.NewHLC(at, 0), V: syncproto.CurrentVersion}, Data: person(name)}
	}
	f := NewFamily(fam)
	f.Apply(event(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), "Poisoned"))
	f.Apply(event(time.Now(), "Ada"))
	if got := f.Members[member].Data.DisplayName; got != "Ada" {
		t.Errorf("member is %q after a plausible edit; want the edit to win over the far-future stamp", got)
	}
}
