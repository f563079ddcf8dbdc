package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/kafkakit"
)

// ErrClosed is returned by a Consumer's methods after Close.
var ErrClosed = errors.New("kafka: consumer closed")

// closeTimeout bounds how long Close waits to leave the group.
const closeTimeout = 10 * time.Second

// Consumer is a member of a consumer group over the event topics. Poll and
// Commit are called from one goroutine, alternately; Close and Lag may be
// called from any.
//
// From a Poll that returned records until the next Commit, the member
// keeps its partitions: a rebalance waits. It waits up to the rebalance
// timeout (Config.RebalanceTimeout, 60 s by default); a member that holds
// a batch longer is put out of the group, its Commit fails, and the
// records are delivered again.
type Consumer struct {
	cl     *kgo.Client // the group member
	admin  *kgo.Client // topic creation and lag, separate from the member
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex
	closed bool
	// pending is set when a Poll returned records not yet committed:
	// rebalances are blocked until Commit.
	pending bool
}

var _ cloud.Consumer = (*Consumer)(nil)

// NewConsumer creates the event topics and the dead-letter topic where
// missing, waits until they have leaders, and joins the group (in the
// background: the first Poll waits for an assignment). ctx bounds the
// start, not the consumer's life.
func NewConsumer(ctx context.Context, cfg Config, logger *slog.Logger) (*Consumer, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	if cfg.Group == "" {
		return nil, errors.New("kafka consumer: no group configured")
	}
	admin, err := newAdmin(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	topics := append(append([]string(nil), cfg.Topics...), cfg.DeadLetterTopic)
	if err := ensureTopics(ctx, admin, cfg, logger, topics); err != nil {
		admin.Close()
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}

	reset := kgo.NewOffset().AtStart()
	if cfg.StartAtEnd {
		reset = kgo.NewOffset().AtEnd()
	}
	c := &Consumer{admin: admin, cfg: cfg, logger: logger}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(kafkakit.Logger(logger)),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// Partitions stay with the member from a poll until it allows
		// rebalancing (Commit), so it never commits for a partition
		// another member has begun to read.
		kgo.BlockRebalanceOnPoll(),
		// Records of aborted transactions are skipped (the bridge
		// does not write in transactions, so this costs nothing).
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// With autocommit disabled, franz-go's own revoke commits
		// nothing; these only log. They must stay fast.
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	}
	if cfg.FetchMaxWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(cfg.FetchMaxWait))
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	if cfg.SessionTimeout > 0 {
		opts = append(opts,
			kgo.SessionTimeout(cfg.SessionTimeout),
			kgo.HeartbeatInterval(min(3*time.Second, cfg.SessionTimeout/3)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	c.cl = cl
	return c, nil
}

func (c *Consumer) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if len(revoked) > 0 {
		c.logger.Info("kafka: partitions revoked", "group", c.cfg.Group, "partitions", revoked)
	}
}

func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if len(lost) > 0 {
		c.logger.Warn("kafka: partitions lost: records not committed will be delivered again",
			"group", c.cfg.Group, "partitions", lost)
	}
}

// Poll returns the next records, at most MaxPollRecords, waiting until
// there are some or ctx ends. When ctx's deadline passes first it returns
// nil and no error (nothing came in time), at once if it had passed
// already, so a poll loop checks its own context; when ctx is cancelled,
// ctx's error. It returns a fetch error (wrapped) only when it has no records to
// return; errors that come with records are logged, and a data-loss notice
// (the client reset a partition's position) is only logged. After Close it
// returns ErrClosed, never records.
func (c *Consumer) Poll(ctx context.Context) ([]cloud.Record, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	fs := c.cl.PollRecords(ctx, c.cfg.MaxPollRecords)

	var out []cloud.Record
	if n := fs.NumRecords(); n > 0 {
		out = make([]cloud.Record, 0, n)
	}
	fs.EachRecord(func(r *kgo.Record) { out = append(out, toRecord(r)) })
	var fetchErr error
	clientClosed := false
	for _, fe := range fs.Errors() {
		var loss *kgo.ErrDataLoss
		switch {
		case errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded):
			// The poll's own context, answered below.
		case errors.Is(fe.Err, kgo.ErrClientClosed):
			clientClosed = true
		case errors.As(fe.Err, &loss):
			c.logger.Warn("kafka: data loss: consuming resumes where the broker has data",
				"topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		default:
			if len(out) > 0 {
				c.logger.Warn("kafka: fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
			}
			if fetchErr == nil {
				fetchErr = fmt.Errorf("poll %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		// Close may have allowed rebalancing before this poll took
		// its records: allow it again so the group can be left.
		c.cl.AllowRebalance()
		return nil, ErrClosed
	}
	if len(out) > 0 {
		c.pending = true
		return out, nil
	}
	// A poll that returned no records may still block rebalances (it does
	// when it ends on an error). With nothing awaiting a Commit, there is
	// nothing to protect: let the group rebalance.
	if !c.pending {
		c.cl.AllowRebalance()
	}
	switch {
	case clientClosed:
		return nil, ErrClosed
	case fetchErr != nil:
		return nil, fetchErr
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, ctx.Err()
	}
	return nil, nil
}

// toRecord is the cloud's view of a record. A header repeated takes its
// last value.
func toRecord(r *kgo.Record) cloud.Record {
	var headers map[string]string
	if len(r.Headers) > 0 {
		headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
	}
	return cloud.Record{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Key:       r.Key,
		Value:     r.Value,
		Headers:   headers,
		Timestamp: r.Timestamp,
	}
}

// Commit commits the offsets of everything Poll returned so far and then
// lets the group rebalance, also when the commit failed. An error means
// the records may be delivered again, to this member or another: after a
// rebalance (the member was put out of the group, typically for holding
// the batch past the rebalance timeout) or a broker failure. A later
// Commit that succeeds covers this one's records too if the member kept
// their partitions.
func (c *Consumer) Commit(ctx context.Context) error {
	if c.isClosed() {
		return ErrClosed
	}
	err := c.cl.CommitUncommittedOffsets(ctx)
	c.mu.Lock()
	c.pending = false
	c.mu.Unlock()
	c.cl.AllowRebalance()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.IllegalGeneration),
		errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.FencedInstanceID),
		errors.Is(err, kerr.StaleMemberEpoch):
		return fmt.Errorf("commit: the group rebalanced; the records will be delivered again: %w", err)
	default:
		return fmt.Errorf("commit: %w", err)
	}
}

// Lag is the group's total lag over its topics: records at the end of the
// partitions less the group's committed offsets (the whole partition where
// the group has not committed). During a rebalance partitions not
// assigned and never committed are not counted.
func (c *Consumer) Lag(ctx context.Context) (int64, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	lags, err := kadm.NewClient(c.admin).Lag(ctx, c.cfg.Group)
	if err != nil {
		return 0, fmt.Errorf("lag: %w", err)
	}
	l, ok := lags[c.cfg.Group]
	if !ok {
		return 0, fmt.Errorf("lag: group %s not described", c.cfg.Group)
	}
	if err := l.Error(); err != nil {
		return 0, fmt.Errorf("lag: group %s: %w", c.cfg.Group, err)
	}
	var total int64
	for _, t := range c.cfg.Topics {
		for p, pl := range l.Lag[t] {
			if pl.Err != nil {
				return 0, fmt.Errorf("lag: %s/%d: %w", t, p, pl.Err)
			}
			total += max(pl.Lag, 0)
		}
	}
	return total, nil
}

// Close leaves the group, committing nothing, and closes the clients.
// Records polled and not committed are delivered again to the member that
// gets their partitions. A Poll running meanwhile returns ErrClosed.
func (c *Consumer) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()

	// Leaving is a rebalance, which a poll not yet committed blocks.
	c.cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	if err := c.cl.LeaveGroupContext(ctx); err != nil {
		c.logger.Warn("kafka: leave group", "group", c.cfg.Group, "err", err)
	}
	cancel()
	c.cl.Close()
	c.admin.Close()
}

func (c *Consumer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
