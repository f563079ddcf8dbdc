package natsjs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// UplinkKey is the durable consumer that sends the log up to the cloud.
const UplinkKey = "uplink"

// CloudLink is the hub's end of the link: a connection of its own (with the
// family's inbox prefix, the only replies the cloud lets through) and the
// uplink consumer. It implements hub.Cloud.
type CloudLink struct {
	s      *Server
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	creds  syncproto.Credentials
	hubID  string
	rings  chan struct{}
	ringer *nats.Subscription
	window int         // most events out at once
	linked func() bool // whether the leaf link is up (tests play it)

	upMu    sync.Mutex    // one Up at a time
	latency time.Duration // recent time to a confirmation, under upMu
}

// OpenCloudLink opens the link's connection and the uplink consumer. hubID
// names this hub to the cloud, so the downlink leaves out its own events.
func (s *Server) OpenCloudLink(ctx context.Context, creds syncproto.Credentials, hubID string) (*CloudLink, error) {
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Name("zoner-hub-link"),
		nats.CustomInboxPrefix(syncproto.ReplyPrefix(creds.FamilyID)), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect in-process: %w", err)
	}
	// The publisher keeps at most upWindow out; the client's own limit
	// (which fails a publish after a short stall) is never reached.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*upWindow))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c := &CloudLink{s: s, nc: nc, js: js, creds: creds, hubID: hubID, rings: make(chan struct{}, 1), window: upWindow}
	c.linked = c.leafUp
	c.cons, err = s.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:     UplinkKey,
		Description: "Sends every event up to the cloud; acknowledged once the cloud stored it.",
		AckPolicy:   jetstream.AckExplicitPolicy,
		// A batch waits for the link; while it waits nothing else is
		// fetched, so the wait only bounds how soon a crashed process's
		// batch is handed out again.
		AckWait:       time.Minute,
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("uplink consumer: %w", err)
	}
	c.ringer, err = nc.Subscribe(syncproto.RingSubject(creds.FamilyID), func(m *nats.Msg) {
		if string(m.Data) == hubID {
			return // its own ring
		}
		select {
		case c.rings <- struct{}{}:
		default:
		}
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("listen for the cloud's news: %w", err)
	}
	return c, nil
}

// Close closes the link's connection; the uplink consumer stays.
func (c *CloudLink) Close() { c.nc.Close() }

// Linked reports whether the leaf-node link is up now.
func (c *CloudLink) Linked() bool { return c.linked() }

func (c *CloudLink) leafUp() bool { return c.s.ns.NumLeafNodes() > 0 }

// Rings is signalled when the cloud stored a new event of the family.
func (c *CloudLink) Rings() <-chan struct{} { return c.rings }

// Pending counts the events of the log not yet stored in the cloud.
func (c *CloudLink) Pending(ctx context.Context) (uint64, error) {
	info, err := c.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("uplink consumer: %w", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// The uplink's pace.
const (
	// upWindow bounds the events published and not yet confirmed by the
	// cloud: with that many out, the publisher waits for a confirmation
	// (a slow cloud slows the uplink; nothing fails for it). 2,048 keeps
	// a leaf link full at the cloud's full speed on a local network and
	// bounds what one lost link sends again.
	upWindow = 2048
	// upChunk is the most events one fetch from the log takes.
	upChunk = 1000
	// The wait for the cloud's next confirmation, while some are due,
	// before the link is taken for lost: four times the recent time to a
	// confirmation, within these bounds.
	ackTimeoutMin = 2 * time.Second
	ackTimeoutMax = 20 * time.Second
	// linkPoll is how often a wait for confirmations looks whether the
	// leaf link is still up.
	linkPoll = 100 * time.Millisecond
	// resendDelay is how soon an event handed back to the log is handed
	// out again.
	resendDelay = 250 * time.Millisecond
)

// ErrLinkLost: the leaf link went down while the cloud's confirmations
// were due; what they were for is sent again once it is back.
var ErrLinkLost = errors.New("the link to the cloud went down before it confirmed")

// Up sends up to max events from the log, waiting up to wait for the first,
// and acknowledges each in the log once the cloud's stream stored it (or
// knew it by its id). It returns how many the cloud confirmed. What was not
// confirmed is handed back to the log, to be sent again soon. Calls are
// serialised.
//
// Fetching, publishing and confirming run as a pipeline: a goroutine
// fetches chunks from the log ahead of the publisher; the publisher keeps
// up to upWindow events out, waiting for room rather than failing; the
// confirmations are taken in order. Up gives up (handing everything
// unconfirmed back) when the cloud refuses an event, when the leaf link
// goes down, or when no confirmation came for an adaptive timeout.
func (c *CloudLink) Up(ctx context.Context, max int, wait time.Duration) (int, error) {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	msgs, err := c.fetch(c.cons.FetchNoWait(min(max, upChunk)))
	if err == nil && len(msgs) == 0 {
		msgs, err = c.fetch(c.cons.Fetch(1, jetstream.FetchMaxWait(wait)))
	}
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	slots := make(chan struct{}, c.window) // a token per event out
	pipe := make(chan sent, c.window)
	stop := make(chan struct{}) // closed when a confirmation failed
	var confirmed int
	var failed error
	done := make(chan struct{})
	go func() {
		defer close(done)
		confirmed, failed = c.confirm(ctx, pipe, slots, stop)
	}()
	// Fetch ahead while publishing.
	fetched := make(chan []jetstream.Msg, 2)
	quit := make(chan struct{}) // closed when the publisher failed
	var fetchErr error
	go func() {
		defer close(fetched)
		total := 0
		for len(msgs) > 0 {
			select {
			case fetched <- msgs:
			case <-stop:
				c.giveBack(msgs)
				return
			case <-quit:
				c.giveBack(msgs)
				return
			}
			if total += len(msgs); total >= max {
				return
			}
			msgs, fetchErr = c.fetch(c.cons.FetchNoWait(min(max-total, upChunk)))
		}
	}()
	var pubErr error
	for chunk := range fetched {
		for i, msg := range chunk {
			if pubErr == nil {
				if pubErr = c.room(ctx, slots, stop); pubErr != nil {
					close(quit)
				}
			}
			if pubErr != nil {
				c.giveBack(chunk[i:]) // after a failure: drain what was fetched
				break
			}
			at := time.Now()
			ack, err := c.publish(msg)
			if err != nil {
				<-slots
				pubErr = fmt.Errorf("uplink publish: %w", err)
				close(quit)
				c.giveBack(chunk[i:])
				break
			}
			if ack == nil {
				<-slots // nothing sent: no room taken
			}
			pipe <- sent{msg: msg, ack: ack, at: at}
		}
	}
	if pubErr == nil || pubErr == errStopped {
		pubErr = fetchErr
	}
	close(pipe)
	<-done
	if confirmed > 0 {
		// The family's other hubs come for them. A ring lost is no loss:
		// they also look every half minute and whenever they link.
		c.nc.Publish(syncproto.RingSubject(c.creds.FamilyID), []byte(c.hubID))
	}
	return confirmed, cmp.Or(failed, pubErr)
}

// sent is an event of the log on its way up.
type sent struct {
	msg jetstream.Msg
	ack jetstream.PubAckFuture // nil: nothing was sent
	at  time.Time              // when it was published
}

// room waits until fewer than the window's events are out, and takes a
// place; errStopped when a confirmation failed meanwhile.
func (c *CloudLink) room(ctx context.Context, slots chan struct{}, stop <-chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-stop:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// confirm takes the cloud's confirmations in order, acknowledging each
// event in the log, and frees the event's place in the window. After a
// failure it closes stop and hands back what is left.
func (c *CloudLink) confirm(ctx context.Context, pipe <-chan sent, slots <-chan struct{}, stop chan<- struct{}) (confirmed int, failed error) {
	poll := time.NewTicker(linkPoll)
	defer poll.Stop()
	deadline := time.NewTimer(ackTimeoutMax)
	defer deadline.Stop()
	last := time.Now() // the last confirmation
	for s := range pipe {
		if s.ack != nil {
			if failed == nil {
				failed = c.await(ctx, s, poll, deadline, last)
				if failed != nil {
					close(stop)
				} else {
					last = time.Now()
					c.observe(last.Sub(s.at))
				}
			}
			<-slots
		}
		if failed != nil {
			// Sent again later; the cloud drops a repeat by its id.
			s.msg.NakWithDelay(resendDelay)
			continue
		}
		if err := s.msg.Ack(); err != nil {
			failed = fmt.Errorf("uplink ack: %w", err)
			close(stop)
			continue
		}
		if s.ack != nil {
			confirmed++
		}
	}
	return confirmed, failed
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// await waits for one event's confirmation: at most the timeout after the
// last confirmation, or after the event was sent if that came later.
func (c *CloudLink) await(ctx context.Context, s sent, poll *time.Ticker, deadline *time.Timer, last time.Time) error {
	select {
	case <-s.ack.Ok():
		return nil // the common case: no timer touched
	default:
	}
	timeout := c.ackTimeout()
	deadline.Reset(time.Until(later(last, s.at).Add(timeout)))
	for {
		select {
		case <-s.ack.Ok():
			return nil
		case err := <-s.ack.Err():
			return fmt.Errorf("the cloud did not store event %s: %w", s.msg.Headers().Get(syncproto.HeaderID), err)
		case <-poll.C:
			if !c.Linked() {
				return ErrLinkLost
			}
		case <-deadline.C:
			return fmt.Errorf("the cloud confirmed nothing for %s", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// observe takes the time one confirmation took into the running average.
func (c *CloudLink) observe(d time.Duration) {
	if c.latency == 0 {
		c.latency = d
		return
	}
	c.latency += (d - c.latency) / 8
}

// ackTimeout is how long to wait for the next confirmation.
func (c *CloudLink) ackTimeout() time.Duration {
	return min(max(4*c.latency, ackTimeoutMin), ackTimeoutMax)
}

// errStopped: the publisher stopped because a confirmation failed (that
// failure is the one reported).
var errStopped = errors.New("stopped")

// publish sends one event of the log up, unless it came from the cloud
// (ack nil, nothing sent).
func (c *CloudLink) publish(msg jetstream.Msg) (jetstream.PubAckFuture, error) {
	h := msg.Headers()
	if h.Get(HeaderVia) == "cloud" {
		return nil, nil
	}
	if h.Get(syncproto.HeaderFamily) != c.creds.FamilyID.String() {
		// The write path refuses other families' events, so only a
		// damaged log holds one; the cloud would refuse it too.
		c.s.logger.Warn("uplink: an event of another family is not sent up", "id", h.Get(syncproto.HeaderID))
		return nil, nil
	}
	up := nats.NewMsg(syncproto.IngestRoot + "." + h.Get(syncproto.HeaderFamily) + "." + h.Get(syncproto.HeaderType))
	up.Data = msg.Data()
	for _, k := range []string{syncproto.HeaderID, syncproto.HeaderType, syncproto.HeaderFamily, syncproto.HeaderMember, syncproto.HeaderV} {
		if v := h.Get(k); v != "" {
			up.Header.Set(k, v)
		}
	}
	up.Header.Set(syncproto.HeaderHub, c.hubID)
	return c.js.PublishMsgAsync(up, jetstream.WithMsgID(h.Get(syncproto.HeaderID)), jetstream.WithExpectStream(syncproto.IngestStream))
}

// giveBack hands messages back to the log, to be sent again soon.
func (c *CloudLink) giveBack(msgs []jetstream.Msg) {
	for _, m := range msgs {
		m.NakWithDelay(resendDelay)
	}
}

func (c *CloudLink) fetch(batch jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, fmt.Errorf("uplink fetch: %w", err)
	}
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		c.s.logger.Debug("uplink fetch ended early", "err", err)
	}
	return msgs, nil
}

// Fetch asks the cloud for the family's events after position after.
func (c *CloudLink) Fetch(ctx context.Context, after uint64, max int) (syncproto.FetchReply, error) {
	req, _ := json.Marshal(syncproto.FetchRequest{After: after, Max: max, Hub: c.hubID})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, syncproto.FetchSubject(c.creds.FamilyID), req)
	if err != nil {
		return syncproto.FetchReply{}, fmt.Errorf("ask the cloud for news: %w", err)
	}
	r, err := syncproto.UnmarshalFetchReply(msg.Data)
	if err != nil {
		return syncproto.FetchReply{}, err
	}
	if r.Error != "" {
		return r, fmt.Errorf("the cloud could not answer: %s", r.Error)
	}
	return r, nil
}

var _ hub.Cloud = (*CloudLink)(nil)
