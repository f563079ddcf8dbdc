package kafka

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/cloud"
)

func TestDeadLetter(t *testing.T)    { testDeadLetter(t, fakeEnv(t)) }
func TestDeadLetterCtx(t *testing.T) { testDeadLetterCtx(t, fakeEnv(t)) }

// testDeadLetter: a dead letter has the record's key, value and headers,
// and the reason and source as headers.
func testDeadLetter(t *testing.T, env testEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := env.config("")
	d, err := NewDeadLetters(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("NewDeadLetters: %v", err)
	}
	t.Cleanup(d.Close)
	r := cloud.Record{
		Topic: env.topics[0], Partition: 2, Offset: 41,
		Key:   []byte("member-1"),
		Value: []byte(`{"not":"an event"`),
		Headers: map[string]string{
			"zoner-id": uuid.NewString(), "zoner-type": "sleep", "zoner-v": "1",
			HeaderDeadReason: "an older reason", // replaced
		},
	}
	if err := d.DeadLetter(ctx, r, "unexpected end of JSON input"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}

	cl := mustClient(t, env.brokers, kgo.ConsumeTopics(env.dead), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got *kgo.Record
	for got == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %v", env.dead, err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			got = recs[0]
		}
	}
	if !bytes.Equal(got.Key, r.Key) || !bytes.Equal(got.Value, r.Value) {
		t.Errorf("dead letter key %q value %q, want %q %q", got.Key, got.Value, r.Key, r.Value)
	}
	want := map[string]string{
		"zoner-id": r.Headers["zoner-id"], "zoner-type": "sleep", "zoner-v": "1",
		HeaderDeadReason:      "unexpected end of JSON input",
		HeaderSourceTopic:     env.topics[0],
		HeaderSourcePartition: "2",
		HeaderSourceOffset:    "41",
	}
	headers := map[string]string{}
	for _, h := range got.Headers {
		if _, dup := headers[h.Key]; dup {
			t.Errorf("header %s twice", h.Key)
		}
		headers[h.Key] = string(h.Value)
	}
	if len(headers) != len(want) {
		t.Errorf("headers %v, want %v", headers, want)
	}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}
}

// testDeadLetterCtx: a dead letter with a context already done fails with
// the context's error.
func testDeadLetterCtx(t *testing.T, env testEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := NewDeadLetters(ctx, env.config(""), testLogger(t))
	if err != nil {
		t.Fatalf("NewDeadLetters: %v", err)
	}
	t.Cleanup(d.Close)
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	err = d.DeadLetter(done, cloud.Record{Topic: "t", Value: []byte("x")}, "why")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DeadLetter with a cancelled context: %v", err)
	}
}

func TestDeadLetterRecord(t *testing.T) {
	r := cloud.Record{
		Topic: "sleep_events", Partition: 5, Offset: 1 << 40, Key: []byte("k"), Value: []byte("v"),
		Headers: map[string]string{"b": "2", "a": "1", HeaderSourceTopic: "old"},
	}
	got := deadLetterRecord("dl", r, "bad")
	var keys []string
	for _, h := range got.Headers {
		keys = append(keys, h.Key+"="+string(h.Value))
	}
	want := []string{"a=1", "b=2", HeaderDeadReason + "=bad", HeaderSourceTopic + "=sleep_events",
		HeaderSourcePartition + "=5", HeaderSourceOffset + "=" + strconv.FormatInt(1<<40, 10)}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("headers %v, want %v", keys, want)
	}
	if got.Topic != "dl" || string(got.Key) != "k" || string(got.Value) != "v" {
		t.Errorf("record %+v", got)
	}
}
