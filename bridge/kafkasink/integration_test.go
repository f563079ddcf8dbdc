//go:build integration

package kafkasink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// realBrokers is KAFKA_BROKERS, set by the task that starts the broker.
func realBrokers(tb testing.TB) []string {
	tb.Helper()
	return strings.Split(proctest.Service(tb, "KAFKA_BROKERS"), ",")
}

// uniqueTopics are topic names of this run only, deleted at the end.
func uniqueTopics(tb testing.TB, brokers []string) bridge.Topics {
	tb.Helper()
	suffix := "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	d := bridge.DefaultTopics()
	topics := bridge.Topics{Sleep: d.Sleep + suffix, Meal: d.Meal + suffix, Light: d.Light + suffix, Trip: d.Trip + suffix}
	adm := mustAdmin(tb, brokers)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.DeleteTopics(ctx, topics.All()...); err != nil {
			tb.Logf("delete topics: %v", err)
		}
	})
	return topics
}

func TestIntegrationRouting(t *testing.T) {
	brokers := realBrokers(t)
	topics := uniqueTopics(t, brokers)
	s := mustSink(t, brokers, Config{Topics: topics, Partitions: 3})
	mustEnsureTopics(t, s)
	mustEnsureTopics(t, s) // nothing to do the second time

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	details, err := mustAdmin(t, brokers).ListTopics(ctx, topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics.All() {
		if d := details[topic]; d.Err != nil || len(d.Partitions) != 3 {
			t.Errorf("topic %s: %d partitions (%v), want 3", topic, len(d.Partitions), d.Err)
		}
	}

	events := append(testEvents(300), testEvents(300)...)
	for i, err := range produce(t, s, events) {
		if err != nil {
			t.Errorf("event %d (%s): %v", i, events[i].Type, err)
		}
	}
	recs := consume(t, brokers, topics.All(), len(events))
	byID := map[string]int{}
	for i, e := range events {
		byID[e.ID.String()] = i
	}
	seen := map[string]bool{}
	for _, r := range recs {
		var id string
		for _, h := range r.Headers {
			if h.Key == HeaderID {
				id = string(h.Value)
			}
		}
		i, ok := byID[id]
		if !ok || seen[id] {
			t.Errorf("record %s/%d@%d: unexpected or repeated id %q", r.Topic, r.Partition, r.Offset, id)
			continue
		}
		seen[id] = true
		checkRecord(t, topics, events[i], r)
	}
	if len(seen) != len(events) {
		t.Errorf("consumed %d of %d events", len(seen), len(events))
	}
}

func TestIntegrationTooLarge(t *testing.T) {
	const limit, big = 4 << 10, 16 << 10
	brokers := realBrokers(t)
	for _, tc := range []struct {
		name       string
		cfg        Config
		topicLimit bool // meal topic created with max.message.bytes=limit before New
		lowerLater bool // meal topic's limit lowered after the first batch: the broker refuses
	}{
		{name: "larger than MaxRecordBytes", cfg: Config{MaxRecordBytes: limit}},
		{name: "larger than the topic's max.message.bytes", topicLimit: true},
		{name: "refused by the broker", lowerLater: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topics := uniqueTopics(t, brokers)
			adm := mustAdmin(t, brokers)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			maxBytes := strconv.Itoa(limit)
			if tc.topicLimit {
				_, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &maxBytes}, topics.Meal)
				if err != nil {
					t.Fatal(err)
				}
			}
			cfg := tc.cfg
			cfg.Topics = topics
			s := mustSink(t, brokers, cfg)
			mustEnsureTopics(t, s)
			for i, err := range produce(t, s, testEvents(300)) {
				if err != nil {
					t.Fatalf("first batch: event %d: %v", i, err)
				}
			}
			if tc.lowerLater {
				alter := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &maxBytes}}
				rs, err := adm.AlterTopicConfigs(ctx, alter, topics.Meal)
				if err == nil {
					err = rs[0].Err
				}
				if err != nil {
					t.Fatalf("lower max.message.bytes: %v", err)
				}
				// The broker applies a topic's new config a moment after
				// it acknowledged the change: wait until it refuses a
				// large meal (the probes it took before that are extra
				// records the test does not count).
				var probe bridge.Event
				for _, e := range testEvents(300) {
					if e.Type == syncproto.TypeMeal {
						probe = e
						break
					}
				}
				probe.Raw = testBody(probe, big)
				wait.Until(t, 15*time.Second, "the broker applying the lower max.message.bytes", func() (bool, string) {
					err := produce(t, s, []bridge.Event{probe})[0]
					return err != nil, fmt.Sprintf("a large meal was still taken (%v)", err)
				})
			}

			// Small events of every type but meal, and one large meal.
			var events []bridge.Event
			for _, e := range testEvents(300) {
				if e.Type != syncproto.TypeMeal {
					events = append(events, e)
					continue
				}
				e.Raw = testBody(e, big)
				events = append([]bridge.Event{e}, events...)
			}
			errs := produce(t, s, events)
			if err := errs[0]; err == nil || !errors.Is(err, bridge.ErrPermanent) || !strings.Contains(err.Error(), "TOO_LARGE") {
				t.Errorf("large event: %v, want a permanent *_TOO_LARGE error", err)
			} else {
				t.Logf("large event: %v", err)
			}
			for i, err := range errs[1:] {
				if err != nil {
					t.Errorf("event %d (%s): %v", i+1, events[i+1].Type, err)
				}
			}

			// The partition goes on: a small meal after the refused one.
			after := testEvents(300)
			for i, err := range produce(t, s, after) {
				if err != nil {
					t.Errorf("batch after: event %d (%s): %v", i, after[i].Type, err)
				}
			}
		})
	}
}

// BenchmarkSinkProduce produces batches of 1000 events of about 300 bytes,
// of 100 families (each with one member); b.N is the number of events.
func BenchmarkSinkProduce(b *testing.B) {
	brokers := realBrokers(b)
	topics := uniqueTopics(b, brokers)
	s := mustSink(b, brokers, Config{Topics: topics, DeliveryTimeout: 30 * time.Second})
	mustEnsureTopics(b, s)
	var batch []bridge.Event
	for len(batch) < 1000 {
		batch = append(batch, testEvents(300)...)
	}
	batch = batch[:1000]
	ctx := context.Background()
	// Warm up: the client learns the new topics' partitions and leaders.
	for i, err := range s.Produce(ctx, batch) {
		if err != nil {
			b.Fatalf("warm-up: event %d: %v", i, err)
		}
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(len(batch), b.N-done)
		for i, err := range s.Produce(ctx, batch[:n]) {
			if err != nil {
				b.Fatalf("event %d: %v", done+i, err)
			}
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
