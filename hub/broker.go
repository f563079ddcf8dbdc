package hub

import (
	"sync"

	"github.com/google/uuid"
)

// Notice tells listeners (browsers, over Server-Sent Events) that something
// changed, so they fetch it again.
type Notice struct {
	// Kind is "plan" (a traveller's plan was recomputed), "plans_removed"
	// (a trip's or member's plans are gone), "clock" (what was learned of
	// a member's body clock changed) or "events" (events up to Seq were
	// applied).
	Kind     string     `json:"kind"`
	TripID   *uuid.UUID `json:"trip_id,omitempty"`
	MemberID *uuid.UUID `json:"member_id,omitempty"`
	Seq      uint64     `json:"seq"`
}

// Broker fans notices out to subscribers. A subscriber that falls behind
// is dropped (its channel closed) rather than slowing everyone down; it
// reconnects and reads the current state.
type Broker struct {
	mu   sync.Mutex
	subs map[chan Notice]struct{}
}

// NewBroker returns a broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[chan Notice]struct{}{}} }

// Subscribe returns a channel of notices and a function that ends the
// subscription.
func (b *Broker) Subscribe() (<-chan Notice, func()) {
	ch := make(chan Notice, 64)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Publish sends n to every subscriber without blocking.
func (b *Broker) Publish(n Notice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- n:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Subscribers is how many listeners are connected.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
