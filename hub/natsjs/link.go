package natsjs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
}

// OpenCloudLink opens the link's connection and the uplink consumer. hubID
// names this hub to the cloud, so the downlink leaves out its own events.
func (s *Server) OpenCloudLink(ctx context.Context, creds syncproto.Credentials, hubID string) (*CloudLink, error) {
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Name("zoner-hub-link"),
		nats.CustomInboxPrefix(syncproto.ReplyPrefix(creds.FamilyID)), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect in-process: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c := &CloudLink{s: s, nc: nc, js: js, creds: creds, hubID: hubID, rings: make(chan struct{}, 1)}
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
func (c *CloudLink) Linked() bool { return c.s.ns.NumLeafNodes() > 0 }

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

// Up sends up to max events from the log, waiting up to wait for the first,
// and acknowledges each in the log once the cloud's stream stored it (or
// knew it by its id). It returns how many the cloud confirmed. What was not
// confirmed is handed back to the log, to be sent again.
//
// Fetching and publishing run ahead of the confirmations, in chunks of up
// to 1,000, while another goroutine takes the confirmations in order: the
// link stays full instead of idling for a round trip per chunk.
func (c *CloudLink) Up(ctx context.Context, max int, wait time.Duration) (int, error) {
	msgs, err := c.fetch(c.cons.FetchNoWait(min(max, 1000)))
	if err == nil && len(msgs) == 0 {
		msgs, err = c.fetch(c.cons.Fetch(1, jetstream.FetchMaxWait(wait)))
	}
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	type sent struct {
		msg jetstream.Msg
		ack jetstream.PubAckFuture // nil: nothing to send
	}
	pipe := make(chan sent, 16384)
	stop := make(chan struct{}) // closed when a confirmation failed
	var confirmed int
	var failed error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A stall detector: the link is given up on when no confirmation
		// came for 30 s.
		timeout := time.NewTimer(30 * time.Second)
		defer timeout.Stop()
		for s := range pipe {
			if failed == nil && s.ack != nil {
				select {
				case <-s.ack.Ok():
					timeout.Reset(30 * time.Second)
				case err := <-s.ack.Err():
					failed = fmt.Errorf("the cloud did not store event %s: %w", s.msg.Headers().Get(syncproto.HeaderID), err)
				case <-timeout.C:
					failed = errors.New("the cloud confirmed nothing for 30 s")
				case <-ctx.Done():
					failed = ctx.Err()
				}
				if failed != nil {
					close(stop)
				}
			}
			if failed != nil {
				// Sent again later; the cloud drops a repeat by its id.
				s.msg.NakWithDelay(time.Second)
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
	}()
	// Fetch ahead while publishing.
	fetched := make(chan []jetstream.Msg, 4)
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
			}
			if total += len(msgs); total >= max {
				return
			}
			msgs, fetchErr = c.fetch(c.cons.FetchNoWait(min(max-total, 1000)))
		}
	}()
	var pubErr error
	for chunk := range fetched {
		select {
		case <-stop:
			pubErr = cmp.Or(pubErr, errStopped)
		default:
		}
		if pubErr != nil {
			c.giveBack(chunk) // after a failure: drain what was fetched
			continue
		}
		for i, msg := range chunk {
			ack, err := c.publish(msg)
			if err != nil {
				pubErr = fmt.Errorf("uplink publish: %w", err)
				c.giveBack(chunk[i:])
				break
			}
			pipe <- sent{msg, ack}
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
		m.NakWithDelay(time.Second)
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
