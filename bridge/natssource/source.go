// Package natssource is the bridge's side of NATS: the cloud's ingest
// stream, read through the bridge's durable pull consumer, as a
// bridge.Source, and the dead-letter stream where the bridge keeps what it
// could never forward (bridge.DeadLetters).
package natssource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/syncproto"
)

// The bridge's names in the cloud's NATS.
const (
	// DefaultConsumer is the durable consumer on the ingest stream every
	// replica of the bridge shares, unless configured otherwise.
	DefaultConsumer = "bridge"
	// DeadLetterStream keeps what the bridge could never forward, on
	// DeadLetterRoot.<family>.
	DeadLetterStream = "DEADLETTER"
	DeadLetterRoot   = "zoner.deadletter"
	// DeadReasonHeader carries why an event was dead-lettered.
	DeadReasonHeader = "Zoner-Dead-Reason"
)

// SourceConfig shapes the bridge's consumer on the ingest stream.
type SourceConfig struct {
	// Consumer is the durable consumer's name, shared by every replica
	// (default DefaultConsumer): each event goes to one of them.
	Consumer string
	// AckWait is how long a fetched event may stay unacknowledged before
	// it is handed out again (default 30 s).
	AckWait time.Duration
	// MaxAckPending bounds the events fetched and not yet acknowledged,
	// over all replicas (default 20,000).
	MaxAckPending int
	// Replicas is how many NATS servers keep the dead-letter stream (1
	// when 0 or less; 3 on a production cluster).
	Replicas int
}

// Source is the ingest stream seen through the bridge's durable pull
// consumer. It implements bridge.Source and bridge.DeadLetters.
type Source struct {
	js   jetstream.JetStream
	cons jetstream.Consumer
}

// OpenSource makes (or updates) the dead-letter stream and the consumer on
// the ingest stream, which must exist, and returns the source.
func OpenSource(ctx context.Context, nc *nats.Conn, cfg SourceConfig) (*Source, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := ensureDeadLetters(ctx, js, cfg.Replicas); err != nil {
		return nil, err
	}
	if cfg.Consumer == "" {
		cfg.Consumer = DefaultConsumer
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 20000
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, syncproto.IngestStream, jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "zoner-bridge: forwards every event to Kafka; acknowledged after Kafka's ack.",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxAckPending: cfg.MaxAckPending,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("bridge consumer on %s: %w", syncproto.IngestStream, err)
	}
	return &Source{js: js, cons: cons}, nil
}

// EnsureDeadLetters makes (or updates) the dead-letter stream, kept on
// replicas servers (1 when 0 or less). OpenSource does it too.
func EnsureDeadLetters(ctx context.Context, nc *nats.Conn, replicas int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return ensureDeadLetters(ctx, js, replicas)
}

func ensureDeadLetters(ctx context.Context, js jetstream.JetStream, replicas int) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeadLetterStream,
		Description: "Events the bridge could never forward, with the reason in the " + DeadReasonHeader + " header.",
		Subjects:    []string{DeadLetterRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	return nil
}

// Fetch returns up to max deliveries, waiting up to wait for the first.
// The fetch runs to its end even when ctx ends (it is short), so that what
// the server handed out is returned and acknowledged, not left to time out.
func (s *Source) Fetch(ctx context.Context, max int, wait time.Duration) ([]bridge.Delivery, error) {
	// What is there now, at once; else wait for one. (A fetch of max
	// with a wait would wait out the whole wait for a batch not full.)
	out, err := s.fetch(s.cons.FetchNoWait(max))
	if err != nil || len(out) > 0 {
		return out, err
	}
	return s.fetch(s.cons.Fetch(1, jetstream.FetchMaxWait(wait)))
}

func (s *Source) fetch(batch jetstream.MessageBatch, err error) ([]bridge.Delivery, error) {
	if err != nil {
		return nil, fmt.Errorf("fetch from %s: %w", syncproto.IngestStream, err)
	}
	var out []bridge.Delivery
	for msg := range batch.Messages() {
		out = append(out, delivery(msg))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		return out, fmt.Errorf("fetch from %s: %w", syncproto.IngestStream, err)
	}
	return out, nil
}

func delivery(msg jetstream.Msg) bridge.Delivery {
	h := msg.Headers()
	d := bridge.Delivery{
		Raw:     msg.Data(),
		Subject: msg.Subject(),
		Ack:     msg.Ack,
		Retry:   msg.NakWithDelay,
		Drop:    msg.TermWithReason,
	}
	var problems []string
	e := bridge.Event{Type: syncproto.Type(h.Get(syncproto.HeaderType)), Raw: msg.Data()}
	var err error
	if e.ID, err = uuid.Parse(h.Get(syncproto.HeaderID)); err != nil {
		problems = append(problems, "header "+syncproto.HeaderID+" is not an event id")
	}
	if e.Family, err = uuid.Parse(h.Get(syncproto.HeaderFamily)); err != nil {
		problems = append(problems, "header "+syncproto.HeaderFamily+" is not a family id")
	}
	if m := h.Get(syncproto.HeaderMember); m != "" {
		if e.Member, err = uuid.Parse(m); err != nil {
			problems = append(problems, "header "+syncproto.HeaderMember+" is not a member id")
		}
	}
	if e.Type == "" {
		problems = append(problems, "header "+syncproto.HeaderType+" is missing")
	}
	if e.V, err = strconv.Atoi(h.Get(syncproto.HeaderV)); err != nil || e.V < 1 {
		problems = append(problems, "header "+syncproto.HeaderV+" is not a schema version")
	}
	d.Event = e
	if len(problems) > 0 {
		d.Problem = fmt.Sprint(problems)
	}
	return d
}

// Lag counts the events not yet forwarded: waiting, and handed out but
// not acknowledged.
func (s *Source) Lag(ctx context.Context) (uint64, error) {
	info, err := s.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bridge consumer: %w", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// DeadLetter keeps an event that can never be forwarded in the
// dead-letter stream, with its original subject and the reason.
func (s *Source) DeadLetter(ctx context.Context, d bridge.Delivery, reason string) error {
	family := d.Event.Family.String()
	if d.Event.Family == uuid.Nil {
		family = "unknown"
	}
	msg := nats.NewMsg(DeadLetterRoot + "." + family)
	msg.Data = d.Raw
	msg.Header.Set(DeadReasonHeader, reason)
	msg.Header.Set("Zoner-Subject", d.Subject)
	if d.Event.ID != uuid.Nil {
		msg.Header.Set(syncproto.HeaderID, d.Event.ID.String())
		msg.Header.Set(jetstream.MsgIDHeader, d.Event.ID.String())
	}
	if d.Event.Type != "" {
		msg.Header.Set(syncproto.HeaderType, string(d.Event.Type))
	}
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(DeadLetterStream)); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return nil
}

var (
	_ bridge.Source      = (*Source)(nil)
	_ bridge.DeadLetters = (*Source)(nil)
)
