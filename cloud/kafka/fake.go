package kafka

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
)

// StartFake starts an in-process fake Kafka cluster (franz-go's kfake) of
// one broker on a free port of 127.0.0.1, with the event topics and the
// dead-letter topic created with partitions partitions each (default 6).
// It returns the broker addresses and stop, which closes the cluster.
//
// For development and the single-machine mode only: the fake keeps
// everything in memory, loses it on stop and is not Kafka (it is what the
// unit tests run on). Production runs against a real cluster.
func StartFake(ctx context.Context, partitions int32, logger *slog.Logger) (brokers []string, stop func(), err error) {
	if logger == nil {
		logger = slog.Default()
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.WithLogger(kfakeLogger{logger}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka fake: %w", err)
	}
	cfg := Config{Brokers: c.ListenAddrs(), Partitions: partitions, ClientID: "zoner-fake-setup"}.withDefaults()
	admin, err := newAdmin(ctx, cfg, logger)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("kafka fake: %w", err)
	}
	err = ensureTopics(ctx, admin, cfg, logger, append(cfg.Topics, cfg.DeadLetterTopic))
	admin.Close()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("kafka fake: %w", err)
	}
	logger.Warn("kafka: running an in-process fake cluster: for development only, nothing is kept",
		"brokers", c.ListenAddrs())
	return c.ListenAddrs(), c.Close, nil
}

// kfakeLogger passes the fake cluster's warnings and errors to slog.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	var lvl slog.Level
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	default:
		return
	}
	k.l.Log(context.Background(), lvl, "kafka fake: "+fmt.Sprintf(msg, args...))
}
