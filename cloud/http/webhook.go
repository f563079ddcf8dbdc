package http

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// MaxWebhookBytes is the largest webhook body accepted. A FlightAware
// alert is a few kilobytes; Zoner's own form is a few hundred bytes.
const MaxWebhookBytes = 64 << 10

// WebhookSecretHeader carries the webhook secret; the query parameter
// WebhookSecretParam is for providers that can only be given a URL.
const (
	WebhookSecretHeader = "X-Zoner-Webhook-Secret"
	WebhookSecretParam  = "secret"
)

// maxMessageID bounds a provider's message id.
const maxMessageID = 200

// maxFlight is the longest a flight may last, as syncproto has it.
const maxFlight = 24 * time.Hour

// Instants and dates must lie in [minInstant, maxInstant), as syncproto
// has them.
var (
	minInstant = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkWebhookSecret compares the request's webhook secret with ours in
// constant time (over digests, so the length leaks nothing either).
func (s *Server) checkWebhookSecret(r *http.Request) error {
	got := r.Header.Get(WebhookSecretHeader)
	if got == "" {
		got = r.URL.Query().Get(WebhookSecretParam)
	}
	if got == "" {
		return &cloud.Error{Code: cloud.CodeUnauthorized, Message: "send the webhook secret in the " + WebhookSecretHeader + " header or the " + WebhookSecretParam + " query parameter"}
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(s.webhookSecret)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return &cloud.Error{Code: cloud.CodeUnauthorized, Message: "wrong webhook secret"}
	}
	return nil
}

// readBody reads a webhook body, at most MaxWebhookBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, httpx.Errorf(httpx.CodeTooLarge, "body over "+strconv.Itoa(MaxWebhookBytes>>10)+" KiB")
		}
		if r.Context().Err() != nil {
			return nil, r.Context().Err() // the client went away
		}
		return nil, invalid("could not read the body", []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "the body was cut short"}})
	}
	return b, nil
}

// flightStatusJSON is Zoner's documented flight-status form (see the
// package comment and FLIGHT_STATUS.md).
type flightStatusJSON struct {
	ID           string `json:"id"`
	Flight       string `json:"flight"`
	Date         string `json:"date"`
	Status       string `json:"status"`
	Depart       string `json:"depart"`
	Arrive       string `json:"arrive"`
	DivertedTo   string `json:"diverted_to"`
	DivertedToTZ string `json:"diverted_to_tz"`
}

var flightStatusKeys = []string{"id", "flight", "date", "status", "depart", "arrive", "diverted_to", "diverted_to_tz"}

var flightStatusFields = strings.Join(flightStatusKeys, ", ")

// decodeFlightStatus reads Zoner's form strictly: one JSON object, no
// unknown fields, every value checked; each problem names its field.
func decodeFlightStatus(body []byte) (cloud.FlightStatus, error) {
	const what = "flight status refused"
	var in flightStatusJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return cloud.FlightStatus{}, invalid(what, []httpx.Problem{jsonProblem(err, flightStatusFields)})
	}
	if _, err := dec.Token(); err != io.EOF {
		return cloud.FlightStatus{}, invalid(what, []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "send one JSON object and nothing after it"}})
	}
	if p := keyProblem(body); p != nil {
		return cloud.FlightStatus{}, invalid(what, []httpx.Problem{*p})
	}
	var p problems
	fs := cloud.FlightStatus{Source: "zoner", ID: in.ID, Status: syncproto.FlightStatus(in.Status)}
	switch {
	case in.ID == "":
		p.add("id", "required: the provider's id of this message, so repeats are dropped")
	case len(in.ID) > maxMessageID || !printable(in.ID):
		p.add("id", "must be at most "+strconv.Itoa(maxMessageID)+" printable ASCII characters")
	}
	if in.Flight == "" {
		p.add("flight", "required: the IATA flight number, like BA286")
	} else if fs.Flight = normalFlight(in.Flight); !syncproto.ValidFlight(fs.Flight) {
		p.add("flight", "must be a flight number like BA286: airline code, then 1–4 digits")
	}
	if in.Date == "" {
		p.add("date", "required: the scheduled departure date at the origin, like 2026-12-20")
	} else if d, err := syncproto.ParseDate(in.Date); err != nil {
		p.add("date", "must be a date like 2026-12-20")
	} else if d.Year < minInstant.Year() || d.Year >= maxInstant.Year() {
		p.add("date", "must lie in the years 2000 to 2099")
	} else {
		fs.Date = d
	}
	if in.Status == "" {
		p.add("status", "required: one of "+statusList)
	} else if !knownStatus(fs.Status) {
		p.add("status", "must be one of "+statusList)
	}
	fs.Depart = p.instant("depart", in.Depart)
	fs.Arrive = p.instant("arrive", in.Arrive)
	fs.DivertedTo = strings.ToUpper(in.DivertedTo)
	fs.DivertedToTZ = in.DivertedToTZ
	p.rules(fs)
	if len(p) > 0 {
		return cloud.FlightStatus{}, invalid(what, p)
	}
	return fs, nil
}

// keyProblem checks the keys of body, a JSON object already decoded
// without error: each must be one of the form's, spelled exactly so
// (encoding/json would take "ID" for "id"), and given once (encoding/json
// would quietly keep the last). It returns the first problem, or nil.
func keyProblem(body []byte) *httpx.Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		switch {
		case !slices.Contains(flightStatusKeys, k):
			return &httpx.Problem{Code: string(syncproto.CodeUnknownField), Path: k, Rule: "unknown field; the fields are " + flightStatusFields}
		case seen[k]:
			return &httpx.Problem{Code: string(syncproto.CodeMalformed), Path: k, Rule: "given more than once"}
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// problems collects what is wrong with a body.
type problems []httpx.Problem

// add records that the value at path (a JSON path) breaks rule.
func (p *problems) add(path, rule string) {
	*p = append(*p, httpx.Problem{Code: string(syncproto.CodeInvalid), Path: path, Rule: rule})
}

// has reports whether the value at path already has a problem.
func (p problems) has(path string) bool {
	for _, q := range p {
		if q.Path == path {
			return true
		}
	}
	return false
}

// instant parses an optional RFC 3339 time.
func (p *problems) instant(field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.add(field, "must be an RFC 3339 time with a UTC offset, like 2026-12-20T09:40:00Z")
		return time.Time{}
	}
	if t.Before(minInstant) || !t.Before(maxInstant) {
		p.add(field, "must lie in the years 2000 to 2099")
		return time.Time{}
	}
	return t
}

// rules checks what a status needs, as syncproto's flight.updated does,
// so a status the backend would turn into an invalid event is refused
// here with the field at fault.
func (p *problems) rules(fs cloud.FlightStatus) {
	if !fs.Depart.IsZero() && !fs.Arrive.IsZero() {
		switch d := fs.Arrive.Sub(fs.Depart); {
		case d <= 0:
			p.add("arrive", "must be after depart")
		case d > maxFlight:
			p.add("arrive", "a flight lasts at most 24 h")
		}
	}
	switch fs.Status {
	case syncproto.FlightDelayed:
		if fs.Depart.IsZero() && fs.Arrive.IsZero() && !p.has("depart") && !p.has("arrive") {
			p.add("depart", "a delayed flight needs the new depart time, the new arrive time or both")
		}
	case syncproto.FlightDeparted:
		if fs.Depart.IsZero() && !p.has("depart") {
			p.add("depart", "required for a departed flight: when it took off")
		}
	case syncproto.FlightLanded:
		if fs.Arrive.IsZero() && !p.has("arrive") {
			p.add("arrive", "required for a landed flight: when it landed")
		}
	case syncproto.FlightCancelled:
		if !fs.Depart.IsZero() {
			p.add("depart", "not allowed for a cancelled flight")
		}
		if !fs.Arrive.IsZero() {
			p.add("arrive", "not allowed for a cancelled flight")
		}
	}
	if fs.Status == syncproto.FlightDiverted {
		if fs.DivertedTo != "" && !syncproto.ValidAirport(fs.DivertedTo) {
			p.add("diverted_to", "must be a three-letter IATA airport code, like LGW")
		}
		switch {
		case fs.DivertedToTZ == "":
			p.add("diverted_to_tz", "required for a diverted flight: the IANA time zone of the airport it went to, like Europe/London")
		case !syncproto.ValidZone(fs.DivertedToTZ):
			p.add("diverted_to_tz", "unknown time zone; use an IANA name like Europe/London")
		}
	} else {
		if fs.DivertedTo != "" {
			p.add("diverted_to", "only for a diverted flight")
		}
		if fs.DivertedToTZ != "" {
			p.add("diverted_to_tz", "only for a diverted flight")
		}
	}
}

const statusList = "delayed, departed, cancelled, diverted, landed"

func knownStatus(s syncproto.FlightStatus) bool {
	switch s {
	case syncproto.FlightDelayed, syncproto.FlightDeparted, syncproto.FlightCancelled,
		syncproto.FlightDiverted, syncproto.FlightLanded:
		return true
	}
	return false
}

// jsonProblem turns a decoding error into a problem naming the field.
func jsonProblem(err error, fields string) httpx.Problem {
	malformed := func(path, rule string) httpx.Problem {
		return httpx.Problem{Code: string(syncproto.CodeMalformed), Path: path, Rule: rule}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return malformed("", "empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("", "the JSON ends too soon")
	case errors.As(err, &syn):
		return malformed("", "not JSON: "+syn.Error()+" (at byte "+strconv.FormatInt(syn.Offset, 10)+")")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return malformed("", "must be a JSON object, not "+article(typ.Value))
		}
		return malformed(typ.Field, "must be "+kindOf(typ.Type.Kind().String())+", not "+article(typ.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return httpx.Problem{Code: string(syncproto.CodeUnknownField), Path: name, Rule: "unknown field; the fields are " + fields}
	}
	return malformed("", "not valid JSON")
}

func kindOf(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") {
		return "a whole number"
	}
	if strings.HasPrefix(k, "float") {
		return "a number"
	}
	return k
}

func article(jsonKind string) string {
	switch jsonKind {
	case "array", "object":
		return "an " + jsonKind
	case "bool":
		return "true or false"
	case "null":
		return "null"
	}
	return "a " + jsonKind
}

// normalFlight writes a flight number in capitals without spaces.
func normalFlight(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// flightResultJSON is the answer to a flight status: what it did.
func flightResultJSON(res cloud.FlightResult) cloud.FlightResult {
	if res.Events == nil {
		res.Events = []uuid.UUID{}
	}
	return res
}

func (s *Server) postFlightStatus(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	fs, err := decodeFlightStatus(body)
	if err != nil {
		return err
	}
	return s.applyFlightStatus(w, r, fs)
}

func (s *Server) applyFlightStatus(w http.ResponseWriter, r *http.Request, fs cloud.FlightStatus) error {
	res, err := s.backend.FlightStatus(r.Context(), fs)
	if err != nil {
		return err
	}
	s.log.Info("flight status", "source", fs.Source, "id", fs.ID, "flight", fs.Flight,
		"date", fs.Date.String(), "status", fs.Status, "trips", res.Trips, "events", len(res.Events))
	writeJSON(w, http.StatusOK, flightResultJSON(res))
	return nil
}
