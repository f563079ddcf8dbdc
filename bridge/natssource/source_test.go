package natssource_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// memSink keeps what it is given, refusing for good the ids in never.
type memSink struct {
	mu    sync.Mutex
	got   map[uuid.UUID]bridge.Event
	never map[uuid.UUID]bool
}

func (s *memSink) Produce(ctx context.Context, events []bridge.Event) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]error, len(events))
	for i, e := range events {
		if s.never[e.ID] {
			out[i] = fmt.Errorf("MESSAGE_TOO_LARGE: %w", bridge.ErrPermanent)
			continue
		}
		s.got[e.ID] = e
	}
	return out
}

// mustConnectIngest runs a bare JetStream server with an ingest stream,
// as the cloud's edge makes it, and connects to it in-process.
func mustConnectIngest(tb testing.TB) *nats.Conn {
	tb.Helper()
	ns, err := server.NewServer(&server.Options{ServerName: "ingest", DontListen: true, JetStream: true,
		JetStreamDomain: syncproto.CloudDomain, StoreDir: tb.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: syncproto.IngestStream,
		Subjects: []string{syncproto.IngestRoot + ".>"}, Duplicates: time.Hour}); err != nil {
		tb.Fatal(err)
	}
	return nc
}

// TestSourceForwardsAndDeadLetters runs the forwarder on the real ingest
// stream: good events reach the sink with the fields their headers carry;
// one without its headers and one the sink can never take end in the
// dead-letter stream with the reason, and none of them comes back.
func TestSourceForwardsAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	nc := mustConnectIngest(t)
	js, _ := jetstream.New(nc)
	family, member := uuid.New(), uuid.New()
	var ids []uuid.UUID
	for i := range 50 {
		id := syncproto.NewID()
		ids = append(ids, id)
		msg := nats.NewMsg(syncproto.IngestSubject(family, syncproto.TypeSleep))
		msg.Data = []byte(`{"n":` + strconv.Itoa(i) + `}`)
		msg.Header.Set(syncproto.HeaderID, id.String())
		msg.Header.Set(syncproto.HeaderType, string(syncproto.TypeSleep))
		msg.Header.Set(syncproto.HeaderFamily, family.String())
		msg.Header.Set(syncproto.HeaderMember, member.String())
		msg.Header.Set(syncproto.HeaderV, "1")
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, syncproto.IngestRoot+"."+family.String()+".sleep", []byte(`{"headers":"none"}`)); err != nil {
		t.Fatal(err)
	}
	src, err := natssource.OpenSource(ctx, nc, natssource.SourceConfig{AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{got: map[uuid.UUID]bridge.Event{}, never: map[uuid.UUID]bool{ids[7]: true}}
	m := bridge.NewMetrics()
	f := &bridge.Forwarder{Source: src, Sink: sink, Dead: src, Metrics: m, Batch: 20, Wait: 100 * time.Millisecond}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.Run(runCtx); close(done) }()
	wait.Until(t, 10*time.Second, "forwarded and dead-lettered", func() (bool, string) {
		return m.Forwarded() >= 49 && m.DeadLettered() >= 2, fmt.Sprintf("forwarded %d, dead-lettered %d", m.Forwarded(), m.DeadLettered())
	})
	// Every delivery acknowledged, as the server counts: nothing can come
	// back, and the consumer handed out each message once.
	cons, err := js.Consumer(ctx, syncproto.IngestStream, natssource.DefaultConsumer)
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.ConsumerInfo
	wait.For(t, 10*time.Second, "every delivery acknowledged", func() error {
		if info, err = cons.Info(ctx); err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("%d waiting, %d not acknowledged", info.NumPending, info.NumAckPending)
		}
		return nil
	})
	stop()
	<-done
	if info.Delivered.Consumer != 51 {
		t.Errorf("%d deliveries, want each of the 51 messages once", info.Delivered.Consumer)
	}
	if m.Forwarded() != 49 || m.DeadLettered() != 2 {
		t.Fatalf("forwarded %d, dead-lettered %d; want 49 and 2 (something came back)", m.Forwarded(), m.DeadLettered())
	}
	e := sink.got[ids[3]]
	if e.Family != family || e.Member != member || e.Type != syncproto.TypeSleep || e.V != 1 || string(e.Raw) != `{"n":3}` {
		t.Fatalf("event as forwarded: %+v", e)
	}
	if lag, err := src.Lag(ctx); err != nil || lag != 0 {
		t.Fatalf("lag %d (%v), want 0", lag, err)
	}

	dead, err := js.Stream(ctx, natssource.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for seq := uint64(1); seq <= 2; seq++ {
		msg, err := dead.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		reasons[msg.Header.Get(syncproto.HeaderID)] = msg.Header.Get(natssource.DeadReasonHeader)
	}
	if r := reasons[ids[7].String()]; !strings.Contains(r, "MESSAGE_TOO_LARGE") {
		t.Errorf("the too-large event's reason: %q", r)
	}
	if r := reasons[""]; !strings.Contains(r, "not an event message") || !strings.Contains(r, "Zoner-Id") {
		t.Errorf("the headerless message's reason: %q", r)
	}
}
