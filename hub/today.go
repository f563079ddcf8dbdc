package hub

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
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
	// Cloud is what the hub knows of the cloud's latest advice for the
	// person, nil when none came down.
	Cloud *CloudAdvice `json:"cloud,omitempty"`
}

// CloudAdvice describes the cloud's latest advice for a person beside the
// hub's own plan.
type CloudAdvice struct {
	// BasedOn is the stamp of the newest event the cloud planned from; At
	// is when it planned.
	BasedOn string    `json:"based_on"`
	At      time.Time `json:"at"`
	// Ahead is set when the cloud planned from news this hub has not
	// applied yet (a flight update, another device's logs, still on their
	// way here): Now and Next then come from the cloud's advice. When it
	// is false the hub's own plan already takes in everything the cloud
	// knew.
	Ahead bool `json:"ahead"`
}

// adviceBack and adviceAhead bound the time the cloud's advice covers
// around the moment it was made.
const (
	adviceBack  = 12 * time.Hour
	adviceAhead = 48 * time.Hour
)

// NextItems is how many upcoming items Today lists per person.
const NextItems = 3

// Today picks, for a member, the items of their plans that are under way
// at the instant at, and the next few after it. Plans are tried in order;
// the first whose days cover at wins. cloud is the member's newest advice
// from the cloud (nil for none) and news the newest stamp of what the hub
// has applied: advice based on later news than that, and covering at,
// takes the place of the hub's plan until the news arrives.
func Today(m Member, plans []StoredPlan, cloud *family.Advice, news syncproto.HLC, at time.Time) MemberNow {
	out := fromPlans(m, plans, at)
	if cloud == nil || cloud.Data == nil {
		return out
	}
	out.Cloud = &CloudAdvice{BasedOn: cloud.Data.BasedOn.String(), At: cloud.Start}
	if cloud.Data.BasedOn.Compare(news) <= 0 || at.Before(cloud.Start.Add(-adviceBack)) || !at.Before(cloud.Start.Add(adviceAhead)) {
		return out
	}
	out.Cloud.Ahead = true
	tz := out.TZ
	if tz == "" {
		tz = cloud.TZ
	}
	out.Now, out.Next, out.Note = []circadian.Item{}, []circadian.Item{}, ""
	id := cloud.Data.TripID
	if id != uuid.Nil {
		out.TripID = &id
	}
	for _, a := range cloud.Data.Items {
		it := circadian.Item{Kind: circadian.ItemKind(a.Kind), Start: a.Start, End: a.End, TZ: tz,
			Text: adviceText[a.Kind], Reason: "From the cloud's plan, made with news that has not reached this hub yet."}
		switch {
		case !at.Before(it.Start) && at.Before(it.End):
			out.Now = append(out.Now, it)
		case it.Start.After(at) && len(out.Next) < NextItems:
			out.Next = append(out.Next, it)
		}
	}
	return out
}

// adviceText names the cloud's advice kinds, which carry no words.
var adviceText = map[syncproto.AdviceKind]string{
	syncproto.AdviceSleep: "Sleep", syncproto.AdviceNap: "Nap", syncproto.AdviceLightSeek: "Seek light",
	syncproto.AdviceLightAvoid: "Avoid bright light", syncproto.AdviceMeal: "Meal", syncproto.AdviceMelatonin: "Melatonin",
	syncproto.AdviceCaffeineOK: "Coffee or tea is fine", syncproto.AdviceCaffeineCutoff: "No caffeine",
}

// fromPlans is Today from the hub's own plans.
func fromPlans(m Member, plans []StoredPlan, at time.Time) MemberNow {
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
