// Package kafkasink is the bridge's sink: a franz-go producer that writes each
// event to the topic of its type (bridge.Topics), keyed by member (or by
// family for family-level events) so one member's events stay in order on
// one partition, with the event's bytes unchanged and its header fields as
// record headers. Writes are idempotent and acknowledged by all in-sync
// replicas. It implements bridge.Sink.
package kafkasink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/internal/kafkakit"
)

// Record headers set on every record (HeaderMember only for member events),
// so consumers can route an event without decoding it.
const (
	HeaderID     = "zoner-id"
	HeaderType   = "zoner-type"
	HeaderFamily = "zoner-family"
	HeaderMember = "zoner-member"
	HeaderV      = "zoner-v"
)

// Defaults for the zero values of Config.
const (
	DefaultPartitions         int32 = 6
	DefaultReplication        int16 = 1
	DefaultClientID                 = "zoner-bridge"
	DefaultMaxBufferedRecords       = 10000
	DefaultDeliveryTimeout          = 30 * time.Second
)

// closeFlushTimeout bounds how long Close waits for buffered records.
const closeFlushTimeout = 5 * time.Second

// Config says where to produce and how.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	Topics  bridge.Topics
	// Partitions and Replication are used by EnsureTopics for the topics
	// it creates. Replication -1 takes the broker's default.
	Partitions  int32
	Replication int16
	ClientID    string
	// Linger is how long a partition waits for more records before it
	// sends a batch: 0 keeps franz-go's default (10 ms), negative sends at
	// once.
	Linger time.Duration
	// MaxBufferedRecords bounds the records in flight; Produce blocks
	// while the client holds that many.
	MaxBufferedRecords int
	// DeliveryTimeout is how long one Produce call keeps trying to write
	// an event before it reports a transient error for it.
	DeliveryTimeout time.Duration
	// MaxRecordBytes, when set, is the largest record batch the client
	// builds (default 1,000,012 bytes, under Kafka's default
	// max.message.bytes); an event larger on its own fails permanently
	// without being sent. A topic whose max.message.bytes is lower, as
	// read by New and EnsureTopics, lowers it for that topic, so that the
	// broker never refuses a batch as too large: that would fail every
	// event in the batch. A limit lowered later is not seen until restart.
	MaxRecordBytes int32
}

func (c Config) withDefaults() Config {
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Replication == 0 {
		c.Replication = DefaultReplication
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.MaxBufferedRecords <= 0 {
		c.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = defaultMaxRecordBytes
	}
	return c
}

// franz-go's default batch limit, and the least it accepts.
const (
	defaultMaxRecordBytes int32 = 1000012
	minRecordBytes        int32 = 512
)

// Sink produces events to Kafka.
type Sink struct {
	cl     *kgo.Client
	cfg    Config
	logger *slog.Logger
	limits *topicLimits
}

var _ bridge.Sink = (*Sink)(nil)

// New connects to the brokers, checks that one of them answers (ctx bounds
// the check) and reads the max.message.bytes of the topics that exist.
// Topics are not created: see EnsureTopics.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Sink, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured")
	}
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	limits := &topicLimits{max: cfg.MaxRecordBytes, topic: map[string]int32{}}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		// Idempotent (franz-go's default) and written to every in-sync
		// replica before it counts. The default partitioner hashes the
		// key; topics are never auto-created by producing.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(cfg.MaxBufferedRecords),
		kgo.ProducerBatchMaxBytesFn(limits.get),
		kgo.WithLogger(kafkakit.Logger(logger)),
	}
	switch {
	case cfg.Linger > 0:
		opts = append(opts, kgo.ProducerLinger(cfg.Linger))
	case cfg.Linger < 0:
		opts = append(opts, kgo.ProducerLinger(0))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: no broker reachable at %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	s := &Sink{cl: cl, cfg: cfg, logger: logger, limits: limits}
	s.loadLimits(ctx, cfg.Topics.All())
	return s, nil
}

// EnsureTopics creates the configured topics that do not exist yet, with
// the configured partitions and replication, and reads the topics'
// max.message.bytes. It returns once the broker lists the new topics with
// their leaders. Existing topics are left as they are. Call it before the
// first Produce.
func (s *Sink) EnsureTopics(ctx context.Context) error {
	topics := s.cfg.Topics.All()
	if len(topics) == 0 {
		return errors.New("ensure topics: no topics configured")
	}
	resps, err := kafkakit.EnsureTopics(ctx, s.cl, topics, s.cfg.Partitions, s.cfg.Replication, s.logger)
	for t, r := range resps {
		if c, ok := r.Configs["max.message.bytes"]; ok && r.Err == nil {
			s.setLimit(t, c.MaybeValue())
		}
	}
	s.loadLimits(ctx, topics)
	return err
}

// Close flushes what is buffered, for DeliveryTimeout and at most a few
// seconds, and closes the client. Records still unacknowledged then fail.
func (s *Sink) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), min(closeFlushTimeout, s.cfg.DeliveryTimeout))
	defer cancel()
	if err := s.cl.Flush(ctx); err != nil {
		s.logger.Warn("kafka: closing with records not flushed", "err", err)
	}
	s.cl.Close()
}
