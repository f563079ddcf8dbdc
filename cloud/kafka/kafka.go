// Package kafka is the cloud's side of Kafka: a franz-go consumer-group
// member over the event topics the bridge writes (sleep_events,
// meal_events, light_exposure, trip_events), which implements
// cloud.Consumer; a producer of dead letters, which implements
// cloud.DeadLetters; and, for the single-machine mode only, an in-process
// fake cluster (StartFake).
//
// The consumer commits by hand and blocks rebalances from a Poll to the
// next Commit, so a batch is committed by the member that read it. It
// delivers at least once: records polled and not committed (the member
// closed, crashed, or was put out of the group for taking longer than the
// rebalance timeout) are delivered again, to this member or another.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/internal/kafkakit"
)

// Headers added to a dead-lettered record, after the original record's own.
const (
	HeaderDeadReason      = "zoner-dead-reason"
	HeaderSourceTopic     = "zoner-source-topic"
	HeaderSourcePartition = "zoner-source-partition"
	HeaderSourceOffset    = "zoner-source-offset"
)

// Defaults for the zero values of Config.
const (
	DefaultClientID        = "zoner-cloud"
	DefaultMaxPollRecords  = 1000
	DefaultDeadLetterTopic = "dead_letters"
	DefaultPartitions      = int32(6)
	DefaultReplication     = int16(1)
)

// DefaultTopics are the event topics the bridge writes.
func DefaultTopics() []string {
	return []string{"sleep_events", "meal_events", "light_exposure", "trip_events"}
}

// Config says where to consume and produce, and how.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// Group is the consumer group; the consumer needs one.
	Group string
	// Topics are the topics consumed (default DefaultTopics).
	Topics   []string
	ClientID string
	// MaxPollRecords bounds the records one Poll returns.
	MaxPollRecords int
	// FetchMaxWait is how long the broker may hold a fetch open waiting
	// for records (0 keeps franz-go's 5 s). It does not bound Poll, which
	// waits for its context.
	FetchMaxWait time.Duration
	// SessionTimeout is how long the group keeps a member it does not
	// hear from (0 keeps franz-go's 45 s). It must lie within the
	// broker's group.min/max.session.timeout.ms (6 s to 30 min by
	// default).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the group waits for its members to
	// rejoin in a rebalance (0 keeps franz-go's 60 s). A member holding a
	// polled batch rejoins only at its Commit: one that takes longer is put
	// out of the group, its Commit fails and the batch is delivered again.
	RebalanceTimeout time.Duration
	// StartAtEnd makes a group with no committed offset for a partition
	// start at its end; by default it starts at the earliest record.
	// Either also applies when a committed offset is out of range.
	StartAtEnd bool
	// DeadLetterTopic is where DeadLetter writes.
	DeadLetterTopic string
	// Partitions and Replication are used for the topics created at
	// start. Replication -1 takes the broker's default.
	Partitions  int32
	Replication int16
}

func (c Config) withDefaults() Config {
	if len(c.Topics) == 0 {
		c.Topics = DefaultTopics()
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.MaxPollRecords <= 0 {
		c.MaxPollRecords = DefaultMaxPollRecords
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Replication == 0 {
		c.Replication = DefaultReplication
	}
	return c
}

// newAdmin connects a plain client (no consuming, no producing) and checks
// that a broker answers; ctx bounds the check.
func newAdmin(ctx context.Context, cfg Config, logger *slog.Logger) (*kgo.Client, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured")
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(kafkakit.Logger(logger)),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: no broker reachable at %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	return cl, nil
}

// ensureTopics creates the topics that do not exist, with the configured
// partitions and replication, and waits until the broker lists them with a
// leader for every partition. Existing topics are left as they are.
func ensureTopics(ctx context.Context, cl *kgo.Client, cfg Config, logger *slog.Logger, topics []string) error {
	_, err := kafkakit.EnsureTopics(ctx, cl, topics, cfg.Partitions, cfg.Replication, logger)
	return err
}
