package cloud

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Advice windows: a recommendation carries items from adviceBack before
// its time to adviceAhead after it, and Next lists a day ahead.
const (
	adviceBack  = 12 * time.Hour
	adviceAhead = 48 * time.Hour
	nextWindow  = 24 * time.Hour
)

// Recommend computes member's recommendation at now from the family's
// state. Between trips, it is a recommendation with no items and a Problem
// saying so. It returns a not_found *Error for a member the family does not
// have.
func Recommend(pl *circadian.Planner, f *Family, member uuid.UUID, now time.Time) (*Recommendation, error) {
	if !f.Live(member) {
		return nil, &Error{Code: CodeNotFound, Message: "family " + f.ID.String() + " has no member " + member.String()}
	}
	m := f.Members[member].Data
	rec := &Recommendation{
		Version: RecommendationVersion, ComputedAt: now.UTC(), Family: f.ID, Member: member,
		Name: m.DisplayName, BasedOn: f.Newest.String(), Now: []circadian.Item{}, Next: []circadian.Item{},
	}
	t := f.CurrentTrip(member, now)
	if t == nil {
		rec.Problem = "no trip ahead: advice starts a week before a trip"
		return rec, nil
	}
	id := t.ID
	rec.Trip, rec.TripName = &id, t.Data.Name
	req, err := f.Request(t, now)
	if err == nil {
		var mp *circadian.MemberPlan
		if mp, err = pl.PlanMember(req, member); err == nil {
			fill(rec, mp, now)
			return rec, nil
		}
	}
	// A plan that cannot be made is an answer too: the member sees why.
	rec.Problem = "no plan could be made: " + err.Error()
	return rec, nil
}

// fill copies what matters now out of a member's plan.
func fill(rec *Recommendation, mp *circadian.MemberPlan, now time.Time) {
	rec.Modelled = mp.Modelled
	rec.Adaptation = mp.Adaptation
	for _, d := range mp.Days {
		if !now.Before(d.Start) && now.Before(d.End) {
			rec.tz = d.TZ
			if d.Misalignment != nil {
				x := math.Round(*d.Misalignment*10) / 10
				rec.Misalignment = &x
			}
		}
		for _, it := range d.Items {
			switch {
			case !now.Before(it.Start) && now.Before(it.End):
				rec.Now = append(rec.Now, it)
			case it.Start.After(now) && !it.Start.After(now.Add(nextWindow)):
				rec.Next = append(rec.Next, it)
			}
		}
	}
	rec.items = advice(mp, now)
}

// advice lists the plan's items near now for the downlink event.
func advice(mp *circadian.MemberPlan, now time.Time) []syncproto.Advice {
	out := []syncproto.Advice{}
	for _, d := range mp.Days {
		for _, it := range d.Items {
			if !it.End.After(now.Add(-adviceBack)) || !it.Start.Before(now.Add(adviceAhead)) {
				continue
			}
			if len(out) == syncproto.MaxAdvice {
				return out
			}
			out = append(out, syncproto.Advice{Kind: syncproto.AdviceKind(it.Kind), Start: it.Start, End: it.End})
		}
	}
	return out
}

// Event makes the recommendation.updated event that sends rec down to the
// family's hubs, stamped by clock. It returns nil when there is nothing to
// send (no trip, or no plan).
func (rec *Recommendation) Event(clock *syncproto.Clock, homeTZ string) ([]byte, *syncproto.Envelope, error) {
	if rec.Trip == nil || rec.Problem != "" {
		return nil, nil, nil
	}
	based, err := syncproto.ParseHLC(rec.BasedOn)
	if err != nil {
		return nil, nil, fmt.Errorf("recommendation based on %q: %w", rec.BasedOn, err)
	}
	clock.Observe(based)
	data := &syncproto.RecommendationUpdated{TripID: *rec.Trip, BasedOn: based, Misalignment: rec.Misalignment, Items: rec.items}
	for _, a := range rec.Adaptation {
		if a.Days >= 0 { // the first stop the plan sees adaptation at
			d := min(a.Days, 60)
			data.AdaptDays = &d
			break
		}
	}
	tz := rec.tz
	if tz == "" {
		tz = homeTZ
	}
	if data.Items == nil {
		data.Items = []syncproto.Advice{}
	}
	e := syncproto.Envelope{
		Header: syncproto.Header{
			ID: syncproto.NewID(), FamilyID: rec.Family, MemberID: rec.Member, Origin: "cloud:recommender",
			Type: syncproto.TypeRecommendationUpdated, Start: rec.ComputedAt.Truncate(time.Millisecond), TZ: tz,
			HLC: clock.Now(), V: syncproto.CurrentVersion,
		},
		Data: data,
	}
	raw, err := syncproto.Marshal(e)
	if err != nil {
		return nil, nil, fmt.Errorf("encode recommendation: %w", err)
	}
	return raw, &e, nil
}

// Fingerprint identifies the advice a recommendation gives, leaving out
// when it was computed: two recommendations with equal fingerprints need
// not both be sent down.
func (rec *Recommendation) Fingerprint() uint64 {
	h := fnv.New64a()
	if rec.Trip != nil {
		h.Write(rec.Trip[:])
	}
	fmt.Fprintf(h, "|%s|", rec.Problem)
	if rec.Misalignment != nil {
		fmt.Fprintf(h, "%.1f", *rec.Misalignment)
	}
	for _, a := range rec.Adaptation {
		fmt.Fprintf(h, "|%s %d", a.TZ, a.Days)
	}
	for _, it := range rec.items {
		fmt.Fprintf(h, "|%s %d %d", it.Kind, it.Start.Unix(), it.End.Unix())
	}
	return h.Sum64()
}
