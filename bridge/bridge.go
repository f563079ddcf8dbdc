// Package bridge forwards the families' events from the cloud's ingest
// stream into Kafka. Its domain is small: an Event as it travels, a Source
// that hands out events with their acknowledgements (bridge/natssource), a Sink
// that writes them to topics (bridge/kafkasink), and the Forwarder between them,
// which acknowledges an event at its source only once the sink has it.
package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Event is one event as it travels from the cloud's ingest stream to a
// topic: the bytes exactly as the hub sent them and the header fields the
// relays route by (read from message headers, not by decoding the body).
type Event struct {
	ID     uuid.UUID
	Type   syncproto.Type
	Family uuid.UUID
	// Member is uuid.Nil for family-level events.
	Member uuid.UUID
	V      int
	Raw    []byte
}

// Delivery is a fetched event and what to tell its source about it.
type Delivery struct {
	Event Event
	// Problem is set when the message could not be read as an event (a
	// header missing or malformed); such a delivery is dead-lettered.
	Problem string
	// Ack says the event is safely in the sink.
	Ack func() error
	// Retry asks for the event again after delay.
	Retry func(delay time.Duration) error
	// Drop gives up on the event for good, with the reason, after it was
	// dead-lettered.
	Drop func(reason string) error
	// Raw is the message as received, kept for the dead-letter record.
	Raw []byte
	// Subject is where the message was published.
	Subject string
}

// Source hands out events. Several forwarders (in one process or many) may
// fetch from one source; each event goes to one of them at a time, and
// comes back after a while if it is neither acknowledged nor dropped.
type Source interface {
	// Fetch returns up to max deliveries, waiting up to wait for the first;
	// none and no error when nothing came.
	Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)
}

// Sink writes events.
type Sink interface {
	// Produce writes a batch and returns one result per event, in order:
	// nil once the event is durably written, an error wrapping
	// ErrPermanent when it can never be written, any other error when a
	// later attempt may succeed.
	Produce(ctx context.Context, events []Event) []error
}

// DeadLetters keeps what can never be forwarded, with the reason, where an
// operator can find it.
type DeadLetters interface {
	DeadLetter(ctx context.Context, d Delivery, reason string) error
}

// ErrPermanent marks a sink error no retry can fix (an event too large for
// the topic, a type with no topic).
var ErrPermanent = errors.New("cannot be produced")

// Topics names the topic of each kind of event.
type Topics struct {
	Sleep string // sleep (a nap is a sleep)
	Meal  string
	Light string // light_exposure
	// Trip takes every other event: family, member and trip changes,
	// flight updates, retractions — what a plan is computed from.
	Trip string
}

// DefaultTopics are the topic names the design gives.
func DefaultTopics() Topics {
	return Topics{Sleep: "sleep_events", Meal: "meal_events", Light: "light_exposure", Trip: "trip_events"}
}

// For is the topic of an event type.
func (t Topics) For(typ syncproto.Type) string {
	switch typ {
	case syncproto.TypeSleep:
		return t.Sleep
	case syncproto.TypeMeal:
		return t.Meal
	case syncproto.TypeLightExposure:
		return t.Light
	}
	return t.Trip
}

// All lists the topics, each once.
func (t Topics) All() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range []string{t.Sleep, t.Meal, t.Light, t.Trip} {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
