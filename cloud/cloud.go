// Package cloud is Zoner's cloud pipeline: the domain types and the small
// interfaces that ingest, the warehouse, the recommender and the API share.
// Each dependency (Kafka, Snowflake, SQLite, Redis, NATS, HTTP) lives in a
// subpackage that implements these interfaces; cmd/zoner-cloud wires them.
package cloud

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Record is one Kafka record as ingest and the recommender see it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	// Headers are the record's headers by key (the bridge writes zoner-id,
	// zoner-type, zoner-family, zoner-member and zoner-v).
	Headers   map[string]string
	Timestamp time.Time
}

// Consumer is a consumer-group member over the event topics. Poll and Commit
// alternate: partitions are not taken away between a Poll and the Commit of
// what it returned, so a batch is committed by the member that wrote it.
type Consumer interface {
	// Poll returns the next records, waiting until there are some or ctx
	// ends. A nil slice with a nil error means nothing came in time.
	Poll(ctx context.Context) ([]Record, error)
	// Commit records that everything Poll returned so far is done, and
	// lets the group rebalance.
	Commit(ctx context.Context) error
	Close()
}

// DeadLetters takes records that can never be ingested, with the reason.
type DeadLetters interface {
	DeadLetter(ctx context.Context, r Record, reason string) error
}

// Row is one event as the warehouse keeps it in RAW_EVENTS.
type Row struct {
	ID     uuid.UUID
	Family uuid.UUID
	Member uuid.UUID // uuid.Nil for family-level events
	Type   syncproto.Type
	Start  time.Time
	End    time.Time // zero when the event has no end
	TZ     string
	HLC    string
	// Payload is the whole event as it came, in syncproto's JSON form (the
	// envelope with its data); the warehouse stores it as VARIANT or JSON.
	Payload []byte
	// Topic, Partition and Offset say where ingest read the event; the
	// first delivery that reached the warehouse is kept.
	Topic      string
	Partition  int32
	Offset     int64
	IngestedAt time.Time
}

// MemberDay is one row of MEMBER_DAILY_METRICS: what one person did on one
// local calendar day. Day is the local date of the day (a night belongs to
// the evening it began).
type MemberDay struct {
	Family  uuid.UUID         `json:"family_id"`
	Member  uuid.UUID         `json:"member_id"`
	Day     syncproto.Date    `json:"day"`
	AgeBand syncproto.AgeBand `json:"age_band"`
	// Trip is the trip the day belongs to, uuid.Nil for none; TripDay counts
	// days since landing at the trip's last stop (1 is the first night
	// there), 0 when the day is not after a landing.
	Trip    uuid.UUID `json:"trip_id"`
	TripDay int       `json:"trip_day"`
	// Minutes asleep at night and in naps, and what the member's habitual
	// night lasts.
	SleepMin         int `json:"sleep_min"`
	NapMin           int `json:"nap_min"`
	HabitualSleepMin int `json:"habitual_sleep_min"`
	// BrightLightMin is minutes logged in light of 1,000 lux or more.
	BrightLightMin int `json:"bright_light_min"`
	// Planned light-seeking windows of the day's latest recommendation, and
	// how many were kept (bright light logged for at least half of the
	// window) and missed (over, and not kept).
	LightPlanned int `json:"light_planned"`
	LightKept    int `json:"light_kept"`
	LightMissed  int `json:"light_missed"`
	Meals        int `json:"meals"`
	// Misalignment is the estimated body-clock misalignment in hours from
	// the day's latest recommendation; nil when there is none.
	Misalignment *float64 `json:"misalignment_h"`
	// BedErrorMin is how far, in minutes, the night's logged sleep began
	// from the bedtime the last recommendation before it predicted; nil
	// when there was no prediction or no logged night.
	BedErrorMin *int `json:"bed_error_min"`
	// OnsetErrorPriorMin and OnsetErrorPersonalMin are how far, in
	// minutes, the night's logged sleep onset at home came after the onset
	// predicted from the member's logs before it: on the questionnaire's
	// clock, and on the clock calibrated from those logs (the planner's
	// clock: the population's until calibration is confident). Nil when
	// the night was not logged at home, or there was nothing to predict
	// from.
	OnsetErrorPriorMin    *int      `json:"onset_error_prior_min"`
	OnsetErrorPersonalMin *int      `json:"onset_error_personal_min"`
	UpdatedAt             time.Time `json:"updated_at"`
}

// MemberClock is one row of MEMBER_CLOCKS: the latest calibration of one
// member's intrinsic period, with the age band and chronotype it is
// pooled by.
type MemberClock struct {
	Family     uuid.UUID
	Member     uuid.UUID
	AgeBand    syncproto.AgeBand
	Chronotype syncproto.Chronotype
	// TauHours and TauSDHours are the estimated period and its sd.
	TauHours   float64
	TauSDHours float64
	// Nights is the number of logged nights it was learned from, Through
	// the end of the logs it read.
	Nights    int
	Through   time.Time
	UpdatedAt time.Time
}

// ClockGroup is MEMBER_CLOCKS pooled by age band and chronotype: the
// members whose period is known (sd at most circadian.ConfidentTauSD
// hours from at least circadian.PeriodNights nights), the mean of their periods and the spread
// between members (population standard deviation), hours.
type ClockGroup struct {
	AgeBand    syncproto.AgeBand
	Chronotype syncproto.Chronotype
	Members    int
	MeanTau    float64
	SpreadTau  float64
}

// TripOutcome is one row of TRIP_OUTCOMES: how one traveller of one trip
// adapted to its last stop.
type TripOutcome struct {
	Family uuid.UUID
	Trip   uuid.UUID
	Member uuid.UUID
	// Direction is "east", "west" or "none" (under an hour of shift).
	Direction string
	// Zones is how many hours of time difference the trip crossed.
	Zones   float64
	AgeBand syncproto.AgeBand
	Arrived syncproto.Date
	// DaysToAdapt is the first day after landing whose logged night began
	// within an hour of the member's habitual bedtime in local time; nil
	// while that has not happened. PredictedDays is the plan's estimate.
	DaysToAdapt   *int
	PredictedDays *int
	UpdatedAt     time.Time
}

// Warehouse stores events and the metrics made from them. Every write is
// idempotent: writing the same rows again changes nothing, so ingest can
// retry a batch after any failure.
type Warehouse interface {
	// MergeEvents stores rows in RAW_EVENTS keyed on ID: a row whose ID is
	// already there is left as it was. It reports how many were new.
	MergeEvents(ctx context.Context, rows []Row) (int, error)
	// Events returns stored events of the given families, ordered by
	// family, then HLC, then ID: every event of types other than the
	// logged facts (sleep, meal, light_exposure, log.retracted), and of
	// the logged facts the ones whose Start is at or after since. A zero
	// since returns everything.
	Events(ctx context.Context, families []uuid.UUID, since time.Time) ([]Row, error)
	// MergeDaily upserts MEMBER_DAILY_METRICS rows on (Member, Day).
	MergeDaily(ctx context.Context, days []MemberDay) error
	// MergeOutcomes upserts TRIP_OUTCOMES rows on (Trip, Member).
	MergeOutcomes(ctx context.Context, outcomes []TripOutcome) error
	// FamiliesWithFlight returns the families with a trip.upserted event
	// naming the flight number (exact, like "BA286").
	FamiliesWithFlight(ctx context.Context, flight string) ([]uuid.UUID, error)
	// Daily returns a family's daily metrics from one date to another,
	// both included, ordered by member and day.
	Daily(ctx context.Context, family uuid.UUID, from, to syncproto.Date) ([]MemberDay, error)
	// MergeClocks upserts MEMBER_CLOCKS rows on Member.
	MergeClocks(ctx context.Context, clocks []MemberClock) error
	// ClockGroups pools MEMBER_CLOCKS by age band and chronotype (the
	// members whose period is known), ordered by age band and chronotype;
	// groups with no such member are left out.
	ClockGroups(ctx context.Context) ([]ClockGroup, error)
	// Analytics runs the aggregate queries.
	Analytics(ctx context.Context) (*Analytics, error)
	// Stats counts RAW_EVENTS rows and distinct ids (equal unless
	// something was stored twice).
	Stats(ctx context.Context) (rows, ids int64, err error)
	Ping(ctx context.Context) error
	Close() error
}

// Analytics are the aggregate answers the analyst role may see. No row
// names a family or a person.
type Analytics struct {
	// Adaptation: days to adapt by direction and age band.
	Adaptation []AdaptationGroup `json:"adaptation"`
	// Light: planned light windows kept.
	Light LightShare `json:"light"`
	// FirstNights: each of the first three nights after landing against
	// the habitual night.
	FirstNights []NightGroup `json:"first_nights"`
	// Accuracy: predicted against logged bedtimes.
	Accuracy Accuracy `json:"accuracy"`
	// Calibration: predicted against logged sleep onsets at home, on the
	// questionnaire's clock and on the calibrated one.
	Calibration CalibrationAccuracy `json:"calibration"`
	// Events and Families count what the figures are made from.
	Events   int64 `json:"events"`
	Families int64 `json:"families"`
}

// AdaptationGroup is days to adapt for one direction and age band.
type AdaptationGroup struct {
	Direction string            `json:"direction"`
	AgeBand   syncproto.AgeBand `json:"age_band"`
	// Travellers counts outcomes in the group; Adapted those that adapted.
	Travellers int `json:"travellers"`
	Adapted    int `json:"adapted"`
	// MeanDays is the mean observed days to adapt of those that adapted;
	// MeanPredicted the plan's mean estimate. Nil when nothing to average.
	MeanDays      *float64 `json:"mean_days"`
	MeanPredicted *float64 `json:"mean_predicted_days"`
}

// LightShare is how many planned light windows were kept and missed.
type LightShare struct {
	Planned int `json:"planned"`
	Kept    int `json:"kept"`
	Missed  int `json:"missed"`
}

// NightGroup compares one night after landing with the habitual night.
type NightGroup struct {
	Night           int     `json:"night"` // 1, 2 or 3
	Members         int     `json:"members"`
	MeanSleepMin    float64 `json:"mean_sleep_min"`
	MeanHabitualMin float64 `json:"mean_habitual_min"`
}

// Accuracy is how well predicted bedtimes matched logged ones.
type Accuracy struct {
	Nights int `json:"nights"`
	// MeanAbsErrorMin is the mean absolute error in minutes; nil with no
	// nights.
	MeanAbsErrorMin *float64 `json:"mean_abs_error_min"`
	// Within30 counts nights that began within 30 minutes of prediction.
	Within30 int `json:"within_30_min"`
}

// CalibrationAccuracy compares the sleep onsets predicted on the
// questionnaire's clock with those predicted on each member's calibrated
// clock, over the nights that have both.
type CalibrationAccuracy struct {
	Nights int `json:"nights"`
	// MeanAbsPriorMin and MeanAbsPersonalMin are the mean absolute errors,
	// minutes; nil with no nights.
	MeanAbsPriorMin    *float64 `json:"mean_abs_prior_min"`
	MeanAbsPersonalMin *float64 `json:"mean_abs_personal_min"`
	// PersonalBetter is the fraction of nights where the calibrated clock
	// came closer; nil with no nights.
	PersonalBetter *float64 `json:"personal_better"`
}

// Cache holds recommendations: Redis in production, an in-process map on
// one machine.
type Cache interface {
	// Get returns the value under key, or ErrMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Ping(ctx context.Context) error
	Close() error
}

// ErrMiss is a cache miss.
var ErrMiss = errors.New("cache miss")

// RecommendationKey is the cache key of a member's recommendation.
func RecommendationKey(family, member uuid.UUID) string {
	return "zoner:rec:" + family.String() + ":" + member.String()
}
