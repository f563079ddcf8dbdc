package natspub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// clientBuffer is how many notices a live client may fall behind by
// before it is dropped (it reconnects and reads afresh).
const clientBuffer = 64

// Notices feeds the API's live streams from the cloud's NATS, so that
// every API replica tells its own clients: while a family has clients on
// a replica, the replica subscribes to the family's ingest subjects (an
// "events" notice for every event stored, whoever sent it: a hub, this
// API or another replica) and to the family's notice subject, where the
// recommender says a member's advice was written ("plan"). It also
// publishes those notices, as the recommender's cloud.NoticePublisher.
type Notices struct {
	nc     *nats.Conn
	mu     sync.Mutex
	fams   map[uuid.UUID]*familySubs
	closed bool
}

type familySubs struct {
	subs    []*nats.Subscription
	clients map[chan cloud.Notice]struct{}
}

// NewNotices returns a feed over nc, a connection of the cloud's services.
func NewNotices(nc *nats.Conn) *Notices {
	return &Notices{nc: nc, fams: map[uuid.UUID]*familySubs{}}
}

// Notify publishes n to every replica's clients of family.
func (n *Notices) Notify(_ context.Context, family uuid.UUID, note cloud.Notice) error {
	b, err := json.Marshal(note)
	if err != nil {
		return err
	}
	if err := n.nc.Publish(cloud.NoticeSubject(family), b); err != nil {
		return fmt.Errorf("notices: publish for family %s: %w", family, err)
	}
	return nil
}

// Subscribe returns family's notices until cancel is called. The
// subscription is in place at the server when it returns.
func (n *Notices) Subscribe(_ context.Context, family uuid.UUID) (<-chan cloud.Notice, func(), error) {
	ch := make(chan cloud.Notice, clientBuffer)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, nil, &cloud.Error{Code: cloud.CodeUnavailable, Message: "the API is shutting down; reconnect shortly"}
	}
	fs := n.fams[family]
	if fs == nil {
		fs = &familySubs{clients: map[chan cloud.Notice]struct{}{}}
		for _, sub := range []struct {
			subject string
			handle  func(*nats.Msg) (cloud.Notice, bool)
		}{
			{syncproto.IngestRoot + "." + family.String() + ".>", eventNotice},
			{cloud.NoticeSubject(family), planNotice},
		} {
			s, err := n.nc.Subscribe(sub.subject, func(m *nats.Msg) {
				if note, ok := sub.handle(m); ok {
					n.publish(family, note)
				}
			})
			if err != nil {
				for _, s := range fs.subs {
					s.Unsubscribe()
				}
				n.mu.Unlock()
				return nil, nil, fmt.Errorf("notices: subscribe to %s: %w", sub.subject, err)
			}
			fs.subs = append(fs.subs, s)
		}
		n.fams[family] = fs
	}
	fs.clients[ch] = struct{}{}
	n.mu.Unlock()
	if err := n.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		n.drop(family, ch)
		return nil, nil, fmt.Errorf("notices: subscribe: %w", err)
	}
	return ch, func() { n.drop(family, ch) }, nil
}

// publish hands note to the family's clients; one that is behind is
// dropped.
func (n *Notices) publish(family uuid.UUID, note cloud.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fs := n.fams[family]
	if fs == nil {
		return
	}
	for ch := range fs.clients {
		select {
		case ch <- note:
		default:
			n.remove(family, fs, ch)
		}
	}
}

// drop removes a client, if still there. Its channel is closed.
func (n *Notices) drop(family uuid.UUID, ch chan cloud.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if fs := n.fams[family]; fs != nil {
		if _, ok := fs.clients[ch]; ok {
			n.remove(family, fs, ch)
		}
	}
}

// remove closes a client's channel; the family's last client takes the
// subscriptions with it. n.mu is held.
func (n *Notices) remove(family uuid.UUID, fs *familySubs, ch chan cloud.Notice) {
	delete(fs.clients, ch)
	close(ch)
	if len(fs.clients) == 0 {
		for _, s := range fs.subs {
			s.Unsubscribe()
		}
		delete(n.fams, family)
	}
}

// Close ends every client's stream (their channels are closed) and
// refuses new ones: the API's live streams end on shutdown.
func (n *Notices) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for family, fs := range n.fams {
		for ch := range fs.clients {
			n.remove(family, fs, ch)
		}
	}
}

// eventNotice is the notice of an event stored in the ingest stream.
func eventNotice(m *nats.Msg) (cloud.Notice, bool) {
	note := cloud.Notice{Kind: "events", Type: m.Header.Get(syncproto.HeaderType)}
	if id, err := uuid.Parse(m.Header.Get(syncproto.HeaderID)); err == nil {
		note.EventID = &id
	}
	return note, true
}

// planNotice decodes the recommender's notice.
func planNotice(m *nats.Msg) (cloud.Notice, bool) {
	var note cloud.Notice
	if err := json.Unmarshal(m.Data, &note); err != nil || note.Kind == "" {
		return note, false
	}
	return note, true
}
