// Package kafkakit is the franz-go glue that the bridge's producer and the
// cloud's consumers share: making the topics that are missing (and waiting
// until the broker can serve them) and passing franz-go's log to slog.
package kafkakit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ReadyTimeout bounds how long EnsureTopics waits for new topics to have
// leaders.
const ReadyTimeout = 30 * time.Second

// EnsureTopics creates the topics that do not exist, with partitions and
// replication (-1 for the broker's default), and returns once the broker
// lists every new topic with a leader for each partition: a topic just
// created is not known at once, and a client that finds it unknown waits
// for its next metadata refresh (franz-go's MetadataMinAge, 5 s). Topics
// that exist are left as they are (a partition count other than asked is
// logged). It returns the brokers' answers for the topics it created.
func EnsureTopics(ctx context.Context, cl *kgo.Client, topics []string, partitions int32, replication int16, logger *slog.Logger) (kadm.CreateTopicResponses, error) {
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("ensure topics: list %s: %w", strings.Join(topics, ","), err)
	}
	var missing []string
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case ok && d.Err == nil:
			if n := int32(len(d.Partitions)); n != partitions {
				logger.Info("kafka: topic exists with another partition count; left as is",
					"topic", t, "partitions", n, "configured", partitions)
			}
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, t)
		default:
			return nil, fmt.Errorf("ensure topics: describe %s: %w", t, d.Err)
		}
	}
	if len(missing) == 0 {
		return kadm.CreateTopicResponses{}, nil
	}
	resps, err := adm.CreateTopics(ctx, partitions, replication, nil, missing...)
	if err != nil {
		return nil, fmt.Errorf("ensure topics: create %s: %w", strings.Join(missing, ","), err)
	}
	for _, t := range missing {
		r, ok := resps[t]
		switch {
		case !ok:
			return nil, fmt.Errorf("ensure topics: create %s: no answer from the broker", t)
		case r.Err == nil:
			logger.Info("kafka: created topic", "topic", t, "partitions", partitions, "replication", replication)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			// Created meanwhile by another process: fine.
		case r.ErrMessage != "":
			return nil, fmt.Errorf("ensure topics: create %s: %w (%s)", t, r.Err, r.ErrMessage)
		default:
			return nil, fmt.Errorf("ensure topics: create %s: %w", t, r.Err)
		}
	}
	return resps, WaitLeaders(ctx, cl, missing)
}

// WaitLeaders waits, for at most ReadyTimeout, until the broker lists every
// topic with a leader for each partition. It asks the broker directly: kadm
// answers from metadata the client caches for a few seconds.
func WaitLeaders(ctx context.Context, cl *kgo.Client, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := req.RequestWith(ctx, cl)
		ready := map[string]bool{}
		if err == nil {
			for _, t := range resp.Topics {
				if t.Topic != nil {
					ready[*t.Topic] = hasLeaders(t)
				}
			}
		}
		var waiting []string
		for _, t := range topics {
			if !ready[t] {
				waiting = append(waiting, t)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("ensure topics: %s created but without leaders: %w", strings.Join(waiting, ","), err)
		case <-tick.C:
		}
	}
}

func hasLeaders(t kmsg.MetadataResponseTopic) bool {
	if t.ErrorCode != 0 || len(t.Partitions) == 0 {
		return false
	}
	for _, p := range t.Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return false
		}
	}
	return true
}

// Logger passes franz-go's warnings and errors to l, prefixed "kafka: ";
// its info and debug lines are too chatty for a service's log.
func Logger(l *slog.Logger) kgo.Logger { return logger{l} }

type logger struct{ l *slog.Logger }

func (logger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelInfo
	switch level {
	case kgo.LogLevelError:
		lvl = slog.LevelError
	case kgo.LogLevelWarn:
		lvl = slog.LevelWarn
	case kgo.LogLevelDebug:
		lvl = slog.LevelDebug
	}
	k.l.Log(context.Background(), lvl, "kafka: "+msg, keyvals...)
}
