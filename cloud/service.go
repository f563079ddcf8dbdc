package cloud

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
	"golang.org/x/sync/singleflight"
)

// Service is what the API serves: recommendations, family summaries,
// analytics and flight status, over the warehouse, the cache and the
// downlink.
type Service struct {
	Recommender *Recommender
	Warehouse   Warehouse
	Cache       Cache
	Down        Downlink // nil refuses flight status
	Now         func() time.Time
	// Notices feeds the live streams of families' clients; nil serves none.
	Notices    Notices
	clock      *syncproto.Clock
	recent     intake             // what PostEvents sent lately (intake.go)
	views      views              // the families' views for the web UI (app.go)
	viewFlight singleflight.Group // one view made at a time per family
}

// NewService returns a service over a recommender and what it uses.
func NewService(r *Recommender, down Downlink) *Service {
	r.init()
	return &Service{Recommender: r, Warehouse: r.Warehouse, Cache: r.Cache, Down: down, Now: r.Now,
		clock: syncproto.NewClock(nil)}
}

// Recommendation returns a member's recommendation JSON.
func (s *Service) Recommendation(ctx context.Context, family, member uuid.UUID) ([]byte, error) {
	return s.Recommender.Recommendation(ctx, family, member)
}

// Analytics runs the warehouse's aggregate queries.
func (s *Service) Analytics(ctx context.Context) (*Analytics, error) {
	a, err := s.Warehouse.Analytics(ctx)
	if err != nil {
		return nil, s.unavailable("read the warehouse", err)
	}
	return a, nil
}

// Ready reports whether the warehouse and the cache answer.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.Warehouse.Ping(ctx); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	if err := s.Cache.Ping(ctx); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// FamilyEvents returns every event the warehouse holds for family, each
// as it came (the event contract's JSON), in the warehouse's order.
func (s *Service) FamilyEvents(ctx context.Context, family uuid.UUID) ([][]byte, error) {
	rows, err := s.Warehouse.Events(ctx, []uuid.UUID{family}, time.Time{})
	if err != nil {
		return nil, s.unavailable("read the warehouse", err)
	}
	if len(rows) == 0 {
		return nil, &Error{Code: CodeNotFound, Message: "no family " + family.String()}
	}
	out := make([][]byte, len(rows))
	for i, r := range rows {
		out[i] = r.Payload
	}
	return out, nil
}

// FamilySummary gathers a family's members and trips, each member's last
// week of daily metrics and current recommendation.
func (s *Service) FamilySummary(ctx context.Context, family uuid.UUID) (*FamilySummary, error) {
	rows, err := s.Warehouse.Events(ctx, []uuid.UUID{family}, time.Time{})
	if err != nil {
		return nil, s.unavailable("read the warehouse", err)
	}
	f := Fold(rows, nil)[family]
	if f == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no family " + family.String()}
	}
	now := s.Now()
	to := syncproto.DateOf(now.UTC().Add(24 * time.Hour))
	from := syncproto.DateOf(now.UTC().Add(-7 * 24 * time.Hour))
	days, err := s.Warehouse.Daily(ctx, family, from, to)
	if err != nil {
		return nil, s.unavailable("read the warehouse", err)
	}
	out := &FamilySummary{Family: family, Name: f.Name(), Events: len(rows), BasedOn: f.Newest.String(),
		Members: []MemberSummary{}, Trips: []TripSummary{}}
	for id, m := range f.Members {
		if !f.Live(id) {
			continue
		}
		ms := MemberSummary{ID: id, Name: m.Data.DisplayName, AgeBand: m.Data.AgeBand, Days: []MemberDay{}}
		for _, d := range days {
			if d.Member == id {
				ms.Days = append(ms.Days, d)
			}
		}
		if b, err := s.Recommender.Recommendation(ctx, family, id); err == nil {
			var rec Recommendation
			if json.Unmarshal(b, &rec) == nil {
				ms.Recommendation = &rec
			}
		}
		out.Members = append(out.Members, ms)
	}
	slices.SortFunc(out.Members, func(a, b MemberSummary) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range f.LiveTrips() {
		legs := t.Data.Legs
		out.Trips = append(out.Trips, TripSummary{ID: t.ID, Name: t.Data.Name, Depart: legs[0].Depart,
			Arrive: legs[len(legs)-1].Arrive, From: legs[0].From, To: legs[len(legs)-1].To, Travellers: t.Data.Travellers})
	}
	return out, nil
}

// FlightStatus turns news about a flight into flight.updated events for
// every live trip with a leg of that flight number departing on that date,
// and sends them down (into the ingest stream, so Kafka, the recommender
// and the family's hubs all get them). A repeat of the same provider
// message makes events with the same ids, which every store keeps once,
// and the same answer. A message under an id already seen but with other
// news (a corrected time, a new status) makes new events, stamped by this
// service's clock after the ones it made before, so the family's fold
// applies the correction last.
func (s *Service) FlightStatus(ctx context.Context, st FlightStatus) (FlightResult, error) {
	res := FlightResult{Events: []uuid.UUID{}}
	if s.Down == nil {
		return res, &Error{Code: CodeUnavailable, Message: "this API has no connection to the cloud's NATS, so it cannot send flight updates"}
	}
	flight := strings.ToUpper(strings.ReplaceAll(st.Flight, " ", ""))
	families, err := s.Warehouse.FamiliesWithFlight(ctx, flight)
	if err != nil {
		return res, s.unavailable("read the warehouse", err)
	}
	if len(families) == 0 {
		return res, nil
	}
	rows, err := s.Warehouse.Events(ctx, families, time.Now())
	if err != nil {
		return res, s.unavailable("read the warehouse", err)
	}
	states := Fold(rows, nil)
	for _, fam := range families {
		f := states[fam]
		if f == nil {
			continue
		}
		for _, t := range f.LiveTrips() {
			matched := false
			for i, l := range t.Data.Legs {
				if !strings.EqualFold(l.Flight, flight) || syncproto.DateOf(l.Depart.In(zoneOf(l.FromTZ))) != st.Date {
					continue
				}
				e, raw, err := s.flightEvent(st, f.ID, t.ID, i+1, l)
				if err != nil {
					return res, err
				}
				if err := s.Down.Send(ctx, e.Header, raw); err != nil {
					return res, s.unavailable("store a flight update", err)
				}
				res.Events = append(res.Events, e.ID)
				matched = true
			}
			if matched {
				res.Trips++
			}
		}
	}
	return res, nil
}

func (s *Service) flightEvent(st FlightStatus, family, trip uuid.UUID, leg int, l syncproto.Leg) (*syncproto.Envelope, []byte, error) {
	d := &syncproto.FlightUpdated{TripID: trip, Leg: leg, Flight: l.Flight, Status: st.Status,
		Depart: st.Depart, Arrive: st.Arrive, DivertedTo: st.DivertedTo, DivertedToTZ: st.DivertedToTZ}
	e := syncproto.Envelope{
		Header: syncproto.Header{
			ID: flightEventID(st, trip, leg, l.Depart), FamilyID: family, Origin: "cloud:flight-status",
			Type: syncproto.TypeFlightUpdated, Start: s.Now().UTC().Truncate(time.Millisecond), TZ: l.FromTZ,
			HLC: s.clock.Now(), V: syncproto.CurrentVersion,
		},
		Data: d,
	}
	raw, err := syncproto.Marshal(e)
	if err != nil {
		return nil, nil, &Error{Code: CodeInvalid, Message: "the flight status does not make a valid flight update: " + err.Error()}
	}
	return &e, raw, nil
}

// flightEventID makes the same UUIDv7 for the same news about the same
// leg: its time is the leg's scheduled departure, its random bits a hash
// of the message's source and id, of the leg, and of what the message
// says about the flight (status, depart, arrive, diversion). A repeat of
// a message, or the same instants written in another offset, makes the
// same id, which every store keeps once; a message the provider sends
// again under the same id with other news (a corrected time, a new
// status) makes a new event.
func flightEventID(st FlightStatus, trip uuid.UUID, leg int, depart time.Time) uuid.UUID {
	instant := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{
		st.Source, st.ID, trip.String(), fmt.Sprint(leg),
		string(st.Status), instant(st.Depart), instant(st.Arrive), st.DivertedTo, st.DivertedToTZ,
	}, "\x00")))
	var id uuid.UUID
	ms := uint64(depart.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(id[0:6], ts[2:8])
	copy(id[6:], h[:10])
	id[6] = 0x70 | id[6]&0x0f // version 7
	id[8] = 0x80 | id[8]&0x3f // RFC 4122 variant
	return id
}

// unavailable logs what failed and answers with an error that tells the
// client to retry, without the internal details.
func (s *Service) unavailable(what string, err error) error {
	s.Recommender.Logger.Warn("api: cannot "+what, "err", err)
	return &Error{Code: CodeUnavailable, Message: "the cloud cannot " + what + " now; try again shortly"}
}
