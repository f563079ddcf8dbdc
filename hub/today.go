package hub

import (
	"time"

	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// The answers of Today, shared with the cloud through package family.
type (
	// MemberNow is what one person should do now and next.
	MemberNow = family.MemberNow
	// StateKind is what a person is doing by their log.
	StateKind = family.StateKind
	// State is what the log says a person is doing, since when.
	State = family.Doing
	// CloudAdvice describes the cloud's latest advice for a person.
	CloudAdvice = family.CloudAdvice
)

// The states a log can tell.
const (
	StateAsleep  = family.StateAsleep
	StateNapping = family.StateNapping
	StateAwake   = family.StateAwake
)

// StateLookback is how far before the moment StateAt reads the log.
const StateLookback = family.StateLookback

// NextItems is how many upcoming items Today lists per person.
const NextItems = family.NextItems

// StateAt is what a member's log says they are doing at the instant at
// (see family.StateAt).
func StateAt(facts []LoggedFact, at time.Time) *State { return family.StateAt(facts, at) }

// Today picks, for a member, the items of their plans under way at the
// instant at and the next few after it (see family.Today, which the cloud
// uses too).
func Today(m Member, plans []StoredPlan, cloud *family.Advice, news syncproto.HLC, at time.Time) MemberNow {
	p := family.Person{ID: m.ID}
	if m.Data != nil {
		p.Name, p.HomeTZ = m.Data.DisplayName, m.Data.HomeTZ
	}
	return family.Today(p, plans, cloud, news, at)
}
