package kafkasink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/bridge"
)

// Produce writes the events, all pipelined, and waits for each to be
// acknowledged by all in-sync replicas, for at most about DeliveryTimeout.
// An event whose write is still unconfirmed then gets a transient error;
// it may still land, so a retry can duplicate it (consumers deduplicate by
// the zoner-id header).
func (s *Sink) Produce(ctx context.Context, events []bridge.Event) []error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		errs := make([]error, len(events))
		for i, e := range events {
			errs[i] = fmt.Errorf("produce event %s: %w", e.ID, err)
		}
		return errs
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.DeliveryTimeout)
	defer cancel()
	w := newWaiter(len(events))
	topics := make([]string, len(events))
	for i, e := range events {
		topic := s.cfg.Topics.For(e.Type)
		topics[i] = topic
		if topic == "" {
			w.set(i, fmt.Errorf("produce event %s: no topic for type %q: %w", e.ID, e.Type, bridge.ErrPermanent))
			continue
		}
		s.cl.Produce(pctx, s.record(topic, e), func(_ *kgo.Record, err error) {
			w.set(i, produceError(e, topic, err))
		})
	}
	select {
	case <-w.done:
	case <-pctx.Done():
		// franz-go fails a record with the context's error only at
		// some points (before it writes a request, after a response)
		// and, being idempotent, never while a request holding it is
		// unanswered. Give it a moment, then report what is left as
		// unconfirmed.
		t := time.NewTimer(unconfirmedGrace)
		select {
		case <-w.done:
		case <-t.C:
		}
		t.Stop()
	}
	return w.finish(func(i int) error {
		return fmt.Errorf("produce event %s to %s: not confirmed within %s: %w",
			events[i].ID, topics[i], s.cfg.DeliveryTimeout, context.Cause(pctx))
	})
}

// unconfirmedGrace is how long Produce waits after its deadline for the
// client to fail the records it can still fail.
const unconfirmedGrace = 200 * time.Millisecond

// record is the Kafka record of an event.
func (s *Sink) record(topic string, e bridge.Event) *kgo.Record {
	key := e.Family
	if e.Member != uuid.Nil {
		key = e.Member
	}
	headers := make([]kgo.RecordHeader, 0, 5)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderID, Value: []byte(e.ID.String())},
		kgo.RecordHeader{Key: HeaderType, Value: []byte(e.Type)},
		kgo.RecordHeader{Key: HeaderFamily, Value: []byte(e.Family.String())},
	)
	if e.Member != uuid.Nil {
		headers = append(headers, kgo.RecordHeader{Key: HeaderMember, Value: []byte(e.Member.String())})
	}
	headers = append(headers, kgo.RecordHeader{Key: HeaderV, Value: []byte(strconv.Itoa(e.V))})
	return &kgo.Record{Topic: topic, Key: []byte(key.String()), Value: e.Raw, Headers: headers}
}

// permanent are the Kafka errors no retry fixes. franz-go fails a record
// too large for a batch on the client side with kerr.MessageTooLarge too.
var permanent = []error{
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.InvalidRecord,
	kerr.CorruptMessage,
	kerr.InvalidTopicException,
}

// produceError is the result for an event given the client's error.
func produceError(e bridge.Event, topic string, err error) error {
	if err == nil {
		return nil
	}
	for _, p := range permanent {
		if errors.Is(err, p) {
			return fmt.Errorf("produce event %s to %s: %w: %w", e.ID, topic, bridge.ErrPermanent, err)
		}
	}
	return fmt.Errorf("produce event %s to %s: %w", e.ID, topic, err)
}

// waiter collects a batch's results from the client's promises, which may
// come after Produce has given up waiting.
type waiter struct {
	mu     sync.Mutex
	errs   []error
	got    []bool
	left   int
	closed bool
	done   chan struct{}
}

func newWaiter(n int) *waiter {
	return &waiter{errs: make([]error, n), got: make([]bool, n), left: n, done: make(chan struct{})}
}

// set records result i; it must not block (promises run serially).
func (w *waiter) set(i int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.got[i] {
		return
	}
	w.errs[i], w.got[i] = err, true
	if w.left--; w.left == 0 {
		close(w.done)
	}
}

// finish stops taking results and fills the missing ones with missing(i).
func (w *waiter) finish(missing func(i int) error) []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for i, ok := range w.got {
		if !ok {
			w.errs[i] = missing(i)
		}
	}
	return w.errs
}

// topicLimits is the batch size limit of each topic: the least of
// MaxRecordBytes and the topic's max.message.bytes once known. franz-go
// asks once per partition, when it first learns of the partition.
type topicLimits struct {
	mu    sync.Mutex
	max   int32
	topic map[string]int32
}

func (l *topicLimits) get(topic string) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.topic[topic]; ok && n < l.max {
		return max(n, minRecordBytes)
	}
	return l.max
}

// loadLimits reads the max.message.bytes of the topics that exist. It only
// logs failures: the limit then stays MaxRecordBytes.
func (s *Sink) loadLimits(ctx context.Context, topics []string) {
	rcs, err := kadm.NewClient(s.cl).DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		s.logger.Warn("kafka: cannot read the topics' max.message.bytes", "topics", topics, "err", err)
		return
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			continue // not created yet, or just created and not known everywhere
		}
		for _, c := range rc.Configs {
			if c.Key == "max.message.bytes" {
				s.setLimit(rc.Name, c.MaybeValue())
			}
		}
	}
}

// setLimit records a topic's max.message.bytes.
func (s *Sink) setLimit(topic, value string) {
	n, err := strconv.ParseInt(value, 10, 32)
	if err != nil || n <= 0 {
		s.logger.Warn("kafka: unreadable max.message.bytes", "topic", topic, "value", value)
		return
	}
	s.limits.mu.Lock()
	old, had := s.limits.topic[topic]
	s.limits.topic[topic] = int32(n)
	s.limits.mu.Unlock()
	if int32(n) < s.cfg.MaxRecordBytes && (!had || old != int32(n)) {
		s.logger.Info("kafka: topic takes smaller records than MaxRecordBytes",
			"topic", topic, "max_message_bytes", n)
	}
}
