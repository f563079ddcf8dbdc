package syncproto

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Payload is the type-specific part of an event. The concrete types in this
// package are the only implementations.
type Payload interface {
	// Type is the event type this payload belongs to.
	Type() Type
	decode(o *object)
	validate(p *problems, h *Header)
}

// newPayload returns an empty payload for t, or nil for an unknown type.
func newPayload(t Type) Payload {
	switch t {
	case TypeFamilyUpserted:
		return &FamilyUpserted{}
	case TypeMemberUpserted:
		return &MemberUpserted{}
	case TypeMemberRemoved:
		return &MemberRemoved{}
	case TypeTripUpserted:
		return &TripUpserted{}
	case TypeTripRemoved:
		return &TripRemoved{}
	case TypeSleep:
		return &Sleep{}
	case TypeMeal:
		return &Meal{}
	case TypeLightExposure:
		return &LightExposure{}
	case TypeFlightUpdated:
		return &FlightUpdated{}
	case TypeLogRetracted:
		return &LogRetracted{}
	case TypeRecommendationUpdated:
		return &RecommendationUpdated{}
	}
	return nil
}

// FamilyUpserted creates or replaces the family's settings. MemberID is empty.
type FamilyUpserted struct {
	// Name is what the household calls itself, like "The Okafors".
	Name string `json:"name"`
	// HomeTZ is the IANA zone the family lives in.
	HomeTZ string `json:"home_tz"`
}

// MemberUpserted creates or replaces one person. MemberID is the person.
type MemberUpserted struct {
	DisplayName string `json:"display_name"`
	// Exactly one of BirthDate and AgeBand is set. A birth date is better:
	// the planner then knows the age on every day of a trip.
	BirthDate Date    `json:"birth_date,omitzero"`
	AgeBand   AgeBand `json:"age_band,omitempty"`
	// HomeTZ is the zone the habitual times below are in.
	HomeTZ string `json:"home_tz"`
	// SleepTime and WakeTime are the habitual night: lights out and getting
	// up, in HomeTZ clock time. The night may cross midnight.
	SleepTime ClockTime `json:"sleep_time"`
	WakeTime  ClockTime `json:"wake_time"`
	// Naps are the usual daytime naps, if any.
	Naps         []Nap        `json:"naps,omitempty"`
	Chronotype   Chronotype   `json:"chronotype,omitempty"`
	TypicalLight TypicalLight `json:"typical_light,omitempty"`
	// MelatoninAdvice and CaffeineAdvice opt an adult in to advice on
	// melatonin and caffeine timing. Only adults may opt in.
	MelatoninAdvice bool `json:"melatonin_advice,omitempty"`
	CaffeineAdvice  bool `json:"caffeine_advice,omitempty"`
}

// Nap is one habitual nap.
type Nap struct {
	Start       ClockTime `json:"start"`
	DurationMin int       `json:"duration_min"`
}

// MemberRemoved is the tombstone of a person. MemberID is the person.
type MemberRemoved struct{}

// TripUpserted creates or replaces a trip. MemberID is empty.
type TripUpserted struct {
	TripID uuid.UUID `json:"trip_id"`
	Name   string    `json:"name,omitempty"`
	// Legs are the flights in departure order; a return journey is more legs.
	Legs []Leg `json:"legs"`
	// Travellers are the members on every leg. Someone who flies other legs
	// is on a trip of their own.
	Travellers []uuid.UUID `json:"travellers"`
	// Intensity is how hard the plan pushes; empty means balanced.
	Intensity Intensity `json:"intensity,omitempty"`
}

// Leg is one flight of a trip.
type Leg struct {
	// Flight is the flight number, like "BA286"; optional.
	Flight string `json:"flight,omitempty"`
	// From and To are IATA airport codes, like "SFO"; optional.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// FromTZ and ToTZ are the IANA zones of the two airports.
	FromTZ string `json:"from_tz"`
	ToTZ   string `json:"to_tz"`
	// Depart and Arrive are the scheduled instants, with the local offsets
	// of the airports.
	Depart time.Time `json:"depart"`
	Arrive time.Time `json:"arrive"`
}

// TripRemoved is the tombstone of a trip. MemberID is empty.
type TripRemoved struct {
	TripID uuid.UUID `json:"trip_id"`
}

// Sleep records a night's sleep or, with Nap, a nap. Start is when the
// person fell asleep; End when they woke, or zero while still asleep.
type Sleep struct {
	Nap bool `json:"nap,omitempty"`
	// Supersedes is an earlier event of the same member and type that this
	// one replaces: a corrected entry, or an open sleep now ended.
	Supersedes uuid.UUID `json:"supersedes,omitzero"`
}

// Meal records a meal or, for an infant, a feed. End is optional.
type Meal struct {
	Kind       MealKind  `json:"kind"`
	Supersedes uuid.UUID `json:"supersedes,omitzero"`
}

// LightExposure records time spent in a kind of light, from Start to End.
// Exactly one of Level and Lux is set.
type LightExposure struct {
	Level LightLevel `json:"level,omitempty"`
	// Lux is an estimate of illuminance at the eye, 0 to 150000.
	Lux        *float64  `json:"lux,omitempty"`
	Supersedes uuid.UUID `json:"supersedes,omitzero"`
}

// FlightUpdated reports news about one leg of a trip. MemberID is empty.
type FlightUpdated struct {
	TripID uuid.UUID `json:"trip_id"`
	// Leg is the leg's position in the trip, counting from 1.
	Leg int `json:"leg"`
	// Flight, when given, must be the leg's flight number; receivers use it
	// to check that the update still matches the trip.
	Flight string       `json:"flight,omitempty"`
	Status FlightStatus `json:"status"`
	// Depart and Arrive are the new expected or actual instants.
	Depart time.Time `json:"depart,omitzero"`
	Arrive time.Time `json:"arrive,omitzero"`
	// DivertedTo and DivertedToTZ say where a diverted flight went.
	DivertedTo   string `json:"diverted_to,omitempty"`
	DivertedToTZ string `json:"diverted_to_tz,omitempty"`
}

// LogRetracted undoes a logged fact (a sleep, meal or light exposure) of
// the same member: the fact stays in the log but no longer counts.
type LogRetracted struct {
	EventID uuid.UUID `json:"event_id"`
}

// RecommendationUpdated is the cloud planner's current advice for one
// member, computed from every event of the family the cloud holds. MemberID
// is the person; Start is when it was computed. Hubs keep it beside their
// own plans; the warehouse compares it with what was logged afterwards.
type RecommendationUpdated struct {
	// TripID is the trip the advice is for; absent between trips.
	TripID uuid.UUID `json:"trip_id,omitzero"`
	// BasedOn is the HLC of the newest event the advice was computed from.
	BasedOn HLC `json:"based_on"`
	// Misalignment is the estimated body-clock misalignment in hours
	// (positive: the body clock is behind local time); absent when the
	// planner does not model the member (babies under six months).
	Misalignment *float64 `json:"misalignment_h,omitempty"`
	// AdaptDays is the planner's estimate of days after landing until the
	// body clock is within an hour of local time; absent when unknown.
	AdaptDays *int `json:"adapt_days,omitempty"`
	// Items are the planned sleeps, naps, light windows, meals and
	// supplements from Start for about two days.
	Items []Advice `json:"items"`
}

// Advice is one planned item of a recommendation.
type Advice struct {
	// Kind is sleep, nap, light_seek, light_avoid, meal, melatonin,
	// caffeine_ok or caffeine_cutoff.
	Kind  AdviceKind `json:"kind"`
	Start time.Time  `json:"start"`
	End   time.Time  `json:"end"`
}

// AdviceKind is what an Advice item advises.
type AdviceKind string

// The advice kinds, the same as the planner's item kinds.
const (
	AdviceSleep          AdviceKind = "sleep"
	AdviceNap            AdviceKind = "nap"
	AdviceLightSeek      AdviceKind = "light_seek"
	AdviceLightAvoid     AdviceKind = "light_avoid"
	AdviceMeal           AdviceKind = "meal"
	AdviceMelatonin      AdviceKind = "melatonin"
	AdviceCaffeineOK     AdviceKind = "caffeine_ok"
	AdviceCaffeineCutoff AdviceKind = "caffeine_cutoff"
)

// MaxAdvice is the most items a recommendation carries.
const MaxAdvice = 64

// Type reports TypeRecommendationUpdated.
func (*RecommendationUpdated) Type() Type { return TypeRecommendationUpdated }

// Type reports TypeFamilyUpserted.
func (*FamilyUpserted) Type() Type { return TypeFamilyUpserted }

// Type reports TypeMemberUpserted.
func (*MemberUpserted) Type() Type { return TypeMemberUpserted }

// Type reports TypeMemberRemoved.
func (*MemberRemoved) Type() Type { return TypeMemberRemoved }

// Type reports TypeTripUpserted.
func (*TripUpserted) Type() Type { return TypeTripUpserted }

// Type reports TypeTripRemoved.
func (*TripRemoved) Type() Type { return TypeTripRemoved }

// Type reports TypeSleep.
func (*Sleep) Type() Type { return TypeSleep }

// Type reports TypeMeal.
func (*Meal) Type() Type { return TypeMeal }

// Type reports TypeLightExposure.
func (*LightExposure) Type() Type { return TypeLightExposure }

// Type reports TypeFlightUpdated.
func (*FlightUpdated) Type() Type { return TypeFlightUpdated }

// Type reports TypeLogRetracted.
func (*LogRetracted) Type() Type { return TypeLogRetracted }

// AgeBand is a coarse age for a member whose birth date is not given.
type AgeBand string

// The age bands, with the ages they cover.
const (
	AgeUnder6Months AgeBand = "under_6_months" // 0–5 months
	Age6To12Months  AgeBand = "6_to_12_months" // 6–11 months
	AgeToddler      AgeBand = "toddler"        // 1–2 years
	AgeChild        AgeBand = "child"          // 3–12 years
	AgeTeen         AgeBand = "teen"           // 13–17 years
	AgeAdult        AgeBand = "adult"          // 18 years and over
)

// AgeInMonths is the age in whole months on day of a person born on birth.
func AgeInMonths(birth, day Date) int {
	months := (day.Year-birth.Year)*12 + int(day.Month-birth.Month)
	if day.Day < birth.Day {
		months--
	}
	return months
}

// AgeBandAt is the band a person born on birth is in on day.
func AgeBandAt(birth, day Date) AgeBand {
	switch months := AgeInMonths(birth, day); {
	case months < 6:
		return AgeUnder6Months
	case months < 12:
		return Age6To12Months
	case months < 36:
		return AgeToddler
	case months < 13*12:
		return AgeChild
	case months < 18*12:
		return AgeTeen
	}
	return AgeAdult
}

// Chronotype is whether a person is naturally early, late or neither.
type Chronotype string

// The chronotypes.
const (
	ChronotypeEarly        Chronotype = "early"
	ChronotypeIntermediate Chronotype = "intermediate"
	ChronotypeLate         Chronotype = "late"
)

// TypicalLight is how much daylight a person usually gets; the planner
// uses it to estimate their body clock before a trip.
type TypicalLight string

// The typical light levels.
const (
	LightMostlyIndoors  TypicalLight = "mostly_indoors"
	LightSomeOutdoors   TypicalLight = "some_outdoors"
	LightMostlyOutdoors TypicalLight = "mostly_outdoors"
)

// Intensity is how hard a plan pushes the body clock.
type Intensity string

// The intensities.
const (
	IntensityGentle     Intensity = "gentle"
	IntensityBalanced   Intensity = "balanced"
	IntensityAggressive Intensity = "aggressive"
)

// MealKind says which meal; feed is an infant's breast or bottle feed.
type MealKind string

// The meal kinds.
const (
	MealBreakfast MealKind = "breakfast"
	MealLunch     MealKind = "lunch"
	MealDinner    MealKind = "dinner"
	MealSnack     MealKind = "snack"
	MealFeed      MealKind = "feed"
)

// LightLevel is a kind of light a person can name without a meter.
type LightLevel string

// The light levels, brightest first. The reference document gives the lux
// each stands for.
const (
	LevelOutdoorDaylight LightLevel = "outdoor_daylight"
	LevelBrightIndoor    LightLevel = "bright_indoor"
	LevelIndoor          LightLevel = "indoor"
	LevelDim             LightLevel = "dim"
	LevelDark            LightLevel = "dark"
)

// FlightStatus is what happened to a leg.
type FlightStatus string

// The flight statuses.
const (
	FlightDelayed   FlightStatus = "delayed"
	FlightDeparted  FlightStatus = "departed"
	FlightCancelled FlightStatus = "cancelled"
	FlightDiverted  FlightStatus = "diverted"
	FlightLanded    FlightStatus = "landed"
)

// ClockTime is a time of day, hours and minutes, written "21:30". The zero
// value means unset.
type ClockTime struct {
	m int // minutes since midnight plus one, so that zero is unset
}

// ClockAt returns the time of day hour:minute. Out-of-range values give a
// ClockTime that fails validation.
func ClockAt(hour, minute int) ClockTime {
	return ClockTime{m: hour*60 + minute + 1}
}

// ParseClockTime reads "HH:MM", 24-hour, with both digits.
func ParseClockTime(s string) (ClockTime, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return ClockTime{}, fmt.Errorf("%q is not a time of day like 07:30", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return ClockTime{}, fmt.Errorf("%q is not a time of day between 00:00 and 23:59", s)
	}
	return ClockAt(h, m), nil
}

// IsZero reports whether the time of day is unset.
func (c ClockTime) IsZero() bool { return c.m == 0 }

// Minutes is minutes since midnight.
func (c ClockTime) Minutes() int { return c.m - 1 }

func (c ClockTime) valid() bool { return c.m >= 1 && c.m <= 24*60 }

// String formats the time of day as "HH:MM".
func (c ClockTime) String() string {
	if !c.valid() {
		return "invalid"
	}
	return fmt.Sprintf("%02d:%02d", c.Minutes()/60, c.Minutes()%60)
}

// MarshalText writes "HH:MM".
func (c ClockTime) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("time of day out of range")
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads "HH:MM".
func (c *ClockTime) UnmarshalText(b []byte) error {
	v, err := ParseClockTime(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Date is a calendar date, written "2019-04-23". The zero value means unset.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return Date{}, fmt.Errorf("%q is not a date like 2019-04-23", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return Date{}, fmt.Errorf("%q is not a real date", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

func (d Date) valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)) == d
}

// String formats the date as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText writes "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("date %s does not exist", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
