package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/kafkakit"
)

// deadLetterFlushTimeout bounds how long Close waits for a dead letter
// still unacknowledged.
const deadLetterFlushTimeout = 5 * time.Second

// DeadLetterProducer writes records that can never be ingested to the
// dead-letter topic: the original key and value, the original headers, and
// headers saying why and where the record came from. Writes are idempotent
// and acknowledged by all in-sync replicas.
type DeadLetterProducer struct {
	cl     *kgo.Client
	topic  string
	logger *slog.Logger
}

var _ cloud.DeadLetters = (*DeadLetterProducer)(nil)

// NewDeadLetters connects, creates the dead-letter topic if it is missing
// and waits until it has leaders. ctx bounds the start.
func NewDeadLetters(ctx context.Context, cfg Config, logger *slog.Logger) (*DeadLetterProducer, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	admin, err := newAdmin(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("kafka dead letters: %w", err)
	}
	err = ensureTopics(ctx, admin, cfg, logger, []string{cfg.DeadLetterTopic})
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("kafka dead letters: %w", err)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(kafkakit.Logger(logger)),
		// Idempotent (franz-go's default), written to every in-sync
		// replica before it counts; sent at once, one at a time.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka dead letters: %w", err)
	}
	return &DeadLetterProducer{cl: cl, topic: cfg.DeadLetterTopic, logger: logger}, nil
}

// DeadLetter writes r to the dead-letter topic with the reason and waits
// until the broker acknowledges it, or ctx ends. An error means it may or
// may not have been written (a retry may write it twice).
func (d *DeadLetterProducer) DeadLetter(ctx context.Context, r cloud.Record, reason string) error {
	rec := deadLetterRecord(d.topic, r, reason)
	done := make(chan error, 1)
	d.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) { done <- err })
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// franz-go fails a record with ctx's error only before it is
		// sent or once its request is answered; do not wait for that.
		select {
		case err = <-done:
		default:
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("dead letter %s/%d@%d to %s: %w", r.Topic, r.Partition, r.Offset, d.topic, err)
	}
	d.logger.Info("kafka: dead-lettered", "topic", r.Topic, "partition", r.Partition,
		"offset", r.Offset, "reason", reason)
	return nil
}

// deadLetterRecord is r as a dead letter: its headers (sorted by key, less
// any of the dead-letter headers it already had) then the dead-letter
// headers.
func deadLetterRecord(topic string, r cloud.Record, reason string) *kgo.Record {
	own := map[string]string{
		HeaderDeadReason:      reason,
		HeaderSourceTopic:     r.Topic,
		HeaderSourcePartition: strconv.FormatInt(int64(r.Partition), 10),
		HeaderSourceOffset:    strconv.FormatInt(r.Offset, 10),
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		if _, ok := own[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	headers := make([]kgo.RecordHeader, 0, len(keys)+len(own))
	for _, k := range keys {
		headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(r.Headers[k])})
	}
	for _, k := range []string{HeaderDeadReason, HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset} {
		headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(own[k])})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers}
}

// Close waits a few seconds at most for a dead letter still in flight and
// closes the client.
func (d *DeadLetterProducer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterFlushTimeout)
	defer cancel()
	if err := d.cl.Flush(ctx); err != nil {
		d.logger.Warn("kafka: closing with a dead letter unacknowledged", "err", err)
	}
	d.cl.Close()
}
