package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// faAlert is the part of a FlightAware AeroAPI (v4) alert callback the
// adapter reads. FlightAware adds fields over time, so unknown ones are
// ignored; the fields read are type-checked and named in errors. The
// callback's long_description, short_description and summary are text
// for people and are not read.
type faAlert struct {
	EventCode string    `json:"event_code"`
	AlertID   int64     `json:"alert_id"`
	Flight    *faFlight `json:"flight"`
}

// faFlight is the flight object of an alert: the same shape as AeroAPI's
// /flights/{ident} answers.
type faFlight struct {
	IdentIATA   string     `json:"ident_iata"`
	FAFlightID  string     `json:"fa_flight_id"`
	Origin      *faAirport `json:"origin"`
	Destination *faAirport `json:"destination"`
	Cancelled   bool       `json:"cancelled"`
	// Gate (out, in) and runway (off, on) times, each scheduled,
	// estimated and actual; RFC 3339 in UTC, or null.
	ScheduledOut string `json:"scheduled_out"`
	EstimatedOut string `json:"estimated_out"`
	ActualOut    string `json:"actual_out"`
	ScheduledOff string `json:"scheduled_off"`
	EstimatedOff string `json:"estimated_off"`
	ActualOff    string `json:"actual_off"`
	ScheduledOn  string `json:"scheduled_on"`
	EstimatedOn  string `json:"estimated_on"`
	ActualOn     string `json:"actual_on"`
	ScheduledIn  string `json:"scheduled_in"`
	EstimatedIn  string `json:"estimated_in"`
	ActualIn     string `json:"actual_in"`
}

type faAirport struct {
	CodeIATA string `json:"code_iata"`
	Timezone string `json:"timezone"`
}

// minShift is how far an estimate must move from the schedule before a
// change alert counts as a delay: less changes no plan.
const minShift = 5 * time.Minute

const faFields = "long_description, short_description, summary, event_code, alert_id, flight"

// faTimes are an alert's flight times, parsed.
type faTimes struct {
	schedOut, schedOff, schedOn, schedIn time.Time
	estOut, estOff, estOn, estIn         time.Time
	actOut, actOff, actOn, actIn         time.Time
}

// first returns the first non-zero time.
func first(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// decodeFlightAware maps a FlightAware alert to a flight status. When the
// alert says nothing Zoner acts on it returns a reason to ignore it.
func decodeFlightAware(body []byte) (fs cloud.FlightStatus, ignore string, err error) {
	const what = "FlightAware alert refused"
	var a faAlert
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&a); err != nil {
		pr := jsonProblem(err, faFields)
		return fs, "", invalid(what, []httpx.Problem{pr})
	}
	var p problems
	code := strings.ToLower(strings.TrimSpace(a.EventCode))
	if code == "" {
		p.add("event_code", "required")
	}
	f := a.Flight
	if f == nil {
		p.add("flight", "required: the flight the alert is about")
		return fs, "", invalid(what, p)
	}
	if f.FAFlightID == "" {
		p.add("flight.fa_flight_id", "required")
	}
	// Every time is checked, even in an alert that is then ignored.
	var t faTimes
	for _, x := range []struct {
		field string
		s     string
		t     *time.Time
	}{
		{"scheduled_out", f.ScheduledOut, &t.schedOut}, {"estimated_out", f.EstimatedOut, &t.estOut}, {"actual_out", f.ActualOut, &t.actOut},
		{"scheduled_off", f.ScheduledOff, &t.schedOff}, {"estimated_off", f.EstimatedOff, &t.estOff}, {"actual_off", f.ActualOff, &t.actOff},
		{"scheduled_on", f.ScheduledOn, &t.schedOn}, {"estimated_on", f.EstimatedOn, &t.estOn}, {"actual_on", f.ActualOn, &t.actOn},
		{"scheduled_in", f.ScheduledIn, &t.schedIn}, {"estimated_in", f.EstimatedIn, &t.estIn}, {"actual_in", f.ActualIn, &t.actIn},
	} {
		*x.t = p.instant("flight."+x.field, x.s)
	}
	if len(p) > 0 {
		return fs, "", invalid(what, p)
	}
	if code == "filed" {
		return fs, "a filed flight plan changes no times Zoner plans with", nil
	}
	if f.IdentIATA == "" {
		return fs, "the flight has no IATA flight number (ident_iata); Zoner trips name flights by it", nil
	}
	fs = cloud.FlightStatus{Source: "flightaware", Flight: normalFlight(f.IdentIATA)}
	if !syncproto.ValidFlight(fs.Flight) {
		p.add("flight.ident_iata", "not a flight number like BA286")
	}
	// The date is the scheduled departure's, at the origin.
	switch {
	case f.Origin == nil || f.Origin.Timezone == "":
		p.add("flight.origin.timezone", "required: the origin's time zone gives the flight's date")
	case !syncproto.ValidZone(f.Origin.Timezone):
		p.add("flight.origin.timezone", "unknown time zone")
	default:
		sched := first(t.schedOut, t.schedOff)
		if sched.IsZero() {
			if !p.has("flight.scheduled_out") && !p.has("flight.scheduled_off") {
				p.add("flight.scheduled_out", "required: the scheduled departure gives the flight's date")
			}
			break
		}
		loc, err := syncproto.LoadZone(f.Origin.Timezone)
		if err != nil {
			p.add("flight.origin.timezone", "unknown time zone")
			break
		}
		if fs.Date = syncproto.DateOf(sched.In(loc)); fs.Date.Year < minInstant.Year() || fs.Date.Year >= maxInstant.Year() {
			p.add("flight.scheduled_out", "must lie in the years 2000 to 2099")
		}
	}
	if len(p) > 0 {
		return cloud.FlightStatus{}, "", invalid(what, p)
	}

	// Takeoff and landing times first (that is what Zoner's departed and
	// landed mean), gate times when those are all there is.
	departed := first(t.actOff, t.actOut)
	landed := first(t.actOn, t.actIn)
	switch code {
	case "departure", "out", "off":
		if departed.IsZero() {
			p.add("flight.actual_off", "a departure alert needs actual_off or actual_out")
			break
		}
		fs.Status, fs.Depart = syncproto.FlightDeparted, departed
		fs.Arrive = after(departed, first(t.estOn, t.estIn))
	case "arrival", "on", "in":
		if landed.IsZero() {
			p.add("flight.actual_on", "an arrival alert needs actual_on or actual_in")
			break
		}
		fs.Status, fs.Arrive = syncproto.FlightLanded, landed
		if departed.Before(landed) && landed.Sub(departed) <= maxFlight {
			fs.Depart = departed
		}
	case "cancelled":
		if !f.Cancelled {
			return cloud.FlightStatus{}, "the flight was reinstated (uncancelled); its next alert will carry its times", nil
		}
		fs.Status = syncproto.FlightCancelled
	case "diverted":
		// The flight reports the airport it diverted to as its
		// destination.
		d := f.Destination
		if d == nil || d.Timezone == "" {
			p.add("flight.destination.timezone", "required for a diversion: the time zone of the airport the flight went to")
			break
		}
		fs.Status, fs.DivertedToTZ = syncproto.FlightDiverted, d.Timezone
		if c := strings.ToUpper(d.CodeIATA); syncproto.ValidAirport(c) {
			fs.DivertedTo = c
		}
		fs.Depart = departed
		fs.Arrive = after(departed, first(landed, t.estOn, t.estIn))
	default:
		// change, minutes_out and every other alert: a delay when the
		// estimates moved from the schedule.
		if f.Cancelled {
			fs.Status = syncproto.FlightCancelled
			break
		}
		dep, arr := moved(t.schedOut, t.estOut), moved(t.schedIn, t.estIn)
		if !dep && !arr {
			return cloud.FlightStatus{}, "event " + strconv.Quote(code) + " moved no times by " + minShift.String() + " or more", nil
		}
		fs.Status, fs.Depart = syncproto.FlightDelayed, t.estOut
		fs.Arrive = after(t.estOut, t.estIn)
	}
	if len(p) == 0 {
		p.rules(fs)
	}
	if len(p) > 0 {
		return cloud.FlightStatus{}, "", invalid(what, p)
	}
	sum := sha256.Sum256(body)
	fs.ID = "fa:" + strconv.FormatInt(a.AlertID, 10) + ":" + f.FAFlightID + ":" + code + ":" + hex.EncodeToString(sum[:8])
	if len(fs.ID) > maxMessageID {
		fs.ID = "fa:" + hex.EncodeToString(sum[:])
	}
	return fs, "", nil
}

// after returns t when it is after from and within a flight's length of
// it (or from is unknown), and zero otherwise.
func after(from, t time.Time) time.Time {
	if t.IsZero() || !from.IsZero() && (!t.After(from) || t.Sub(from) > maxFlight) {
		return time.Time{}
	}
	return t
}

// moved reports whether an estimate is minShift or more from the schedule.
func moved(sched, est time.Time) bool {
	if sched.IsZero() || est.IsZero() {
		return false
	}
	return est.Sub(sched).Abs() >= minShift
}

type ignoredJSON struct {
	Ignored bool   `json:"ignored"`
	Reason  string `json:"reason"`
}

func (s *Server) postFlightAware(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	fs, ignore, err := decodeFlightAware(body)
	if err != nil {
		return err
	}
	if ignore != "" {
		s.log.Info("flight status ignored", "source", "flightaware", "reason", ignore)
		writeJSON(w, http.StatusAccepted, ignoredJSON{Ignored: true, Reason: ignore})
		return nil
	}
	return s.applyFlightStatus(w, r, fs)
}
