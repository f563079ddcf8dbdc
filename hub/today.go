package hub

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
)

// MemberNow is what one person should do now and next.
type MemberNow struct {
	MemberID uuid.UUID `json:"member_id"`
	Name     string    `json:"name"`
	// TripID is the trip whose plan the advice comes from; nil when no
	// plan covers the moment.
	TripID *uuid.UUID `json:"trip_id,omitempty"`
	// TZ is the zone the person is in by the plan (home otherwise), and
	// Day the plan's day then.
	TZ   string           `json:"tz"`
	Day  *circadian.Day   `json:"day,omitempty"`
	Now  []circadian.Item `json:"now"`
	Next []circadian.Item `json:"next"`
	// Note explains an empty answer ("No trip in progress; the next one
	// starts …").
	Note string `json:"note,omitempty"`
}

// NextItems is how many upcoming items Today lists per person.
const NextItems = 3

// Today picks, for a member, the items of their plans that are under way
// at the instant at, and the next few after it. Plans are tried in order;
// the first whose days cover at wins.
func Today(m Member, plans []StoredPlan, at time.Time) MemberNow {
	out := MemberNow{MemberID: m.ID, Now: []circadian.Item{}, Next: []circadian.Item{}}
	if m.Data != nil {
		out.Name, out.TZ = m.Data.DisplayName, m.Data.HomeTZ
	}
	var soonest *time.Time
	for _, sp := range plans {
		if len(sp.Plan) == 0 {
			continue
		}
		var mp circadian.MemberPlan
		if err := json.Unmarshal(sp.Plan, &mp); err != nil || len(mp.Days) == 0 {
			continue
		}
		first, last := mp.Days[0].Start, mp.Days[len(mp.Days)-1].End
		if at.Before(first) {
			if soonest == nil || first.Before(*soonest) {
				soonest = &first
			}
			continue
		}
		if !at.Before(last) {
			continue
		}
		trip := sp.TripID
		out.TripID = &trip
		for i := range mp.Days {
			d := mp.Days[i]
			if !at.Before(d.Start) && at.Before(d.End) {
				day := d
				day.Items = []circadian.Item{} // the items are in Now and Next
				out.Day, out.TZ = &day, d.TZ
			}
			for _, it := range d.Items {
				switch {
				case !at.Before(it.Start) && at.Before(it.End):
					out.Now = append(out.Now, it)
				case it.Start.After(at) && len(out.Next) < NextItems:
					out.Next = append(out.Next, it)
				}
			}
		}
		return out
	}
	if soonest != nil {
		out.Note = "No trip in progress; the plan starts " + soonest.Format(time.RFC3339) + "."
	} else {
		out.Note = "No trip in progress and none planned."
	}
	return out
}
