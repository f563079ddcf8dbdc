package kafka

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestStartFake(t *testing.T) {
	env := fakeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	details, err := kadm.NewClient(mustClient(t, env.brokers)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := append(DefaultTopics(), DefaultDeadLetterTopic)
	if got := details.Names(); len(got) != len(want) {
		t.Errorf("topics %v, want %v", got, want)
	}
	for _, topic := range want {
		if d := details[topic]; d.Err != nil || len(d.Partitions) != 3 {
			t.Errorf("topic %s: %d partitions (%v), want 3", topic, len(d.Partitions), d.Err)
		}
	}
}

func TestNewConsumerTopics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.CreateTopic("meal_events", 1, nil); err != nil {
		t.Fatal(err)
	}
	mustConsumer(t, Config{Brokers: c.ListenAddrs(), Group: "one", Partitions: 2})
	// Again: nothing to create.
	mustConsumer(t, Config{Brokers: c.ListenAddrs(), Group: "two", Partitions: 2})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	details, err := kadm.NewClient(mustClient(t, c.ListenAddrs())).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{
		"sleep_events": 2, "meal_events": 1, "light_exposure": 2, "trip_events": 2, "dead_letters": 2,
	} {
		if d := details[topic]; d.Err != nil || len(d.Partitions) != want {
			t.Errorf("topic %s: %d partitions (%v), want %d", topic, len(d.Partitions), d.Err, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	// A port nothing listens on: connections are refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no brokers", Config{Group: "g"}, "no brokers configured"},
		{"no group", Config{Brokers: []string{closed}}, "no group configured"},
		{"unreachable", Config{Brokers: []string{closed}, Group: "g"}, "no broker reachable at " + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := NewConsumer(ctx, tc.cfg, testLogger(t))
			if err == nil {
				c.Close()
				t.Fatal("NewConsumer succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.name == "no group" {
				return
			}
			d, err := NewDeadLetters(ctx, tc.cfg, testLogger(t))
			if err == nil {
				d.Close()
				t.Fatal("NewDeadLetters succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
