package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPollCommit(t *testing.T)  { testPollCommit(t, fakeEnv(t)) }
func TestRedelivery(t *testing.T)  { testRedelivery(t, fakeEnv(t)) }
func TestTwoMembers(t *testing.T)  { testTwoMembers(t, fakeEnv(t)) }
func TestHoldsBatch(t *testing.T)  { testHoldsBatch(t, fakeEnv(t)) }
func TestHeldTooLong(t *testing.T) { testHeldTooLong(t, fakeEnv(t)) }
func TestLag(t *testing.T)         { testLag(t, fakeEnv(t)) }
func TestClose(t *testing.T)       { testClose(t, fakeEnv(t)) }
func TestPollContext(t *testing.T) { testPollContext(t, fakeEnv(t)) }
func TestStartAtEnd(t *testing.T)  { testStartAtEnd(t, fakeEnv(t)) }

// testPollCommit: records come as produced; after a Commit nothing more
// comes, and a Poll that times out returns nil and no error.
func testPollCommit(t *testing.T, env testEnv) {
	cfg := env.config(env.group(t))
	cfg.MaxPollRecords = 30
	c := mustConsumer(t, cfg) // creates the topics where missing
	cl := mustClient(t, env.brokers)
	recs := testRecords(env.topics, 100)
	produce(t, cl, recs)
	want := idsOf(recs)
	got := map[string]bool{}
	for len(got) < len(recs) {
		batch := pollN(t, c, 1, 20*time.Second)
		if len(batch) > cfg.MaxPollRecords {
			t.Errorf("Poll returned %d records, MaxPollRecords is %d", len(batch), cfg.MaxPollRecords)
		}
		for _, r := range batch {
			w, ok := want[idOf(r)]
			if !ok || got[idOf(r)] {
				t.Fatalf("record %s/%d@%d: unexpected or repeated id %q", r.Topic, r.Partition, r.Offset, idOf(r))
			}
			got[idOf(r)] = true
			checkRecord(t, r, w)
		}
		mustCommit(t, c)
	}
	rest, err := pollFor(c, time.Second)
	if err != nil || len(rest) != 0 {
		t.Errorf("Poll after all committed: %d records, %v; want none and no error", len(rest), err)
	}
}

// testRedelivery: a second member of the group starts after the first
// one's last commit; what the first polled and did not commit comes again.
func testRedelivery(t *testing.T, env testEnv) {
	cl := mustClient(t, env.brokers)
	cfg := env.config(env.group(t))
	first := testRecords(env.topics, 60)
	second := testRecords(env.topics, 40)

	a := mustConsumer(t, cfg)
	produce(t, cl, first)
	pollN(t, a, len(first), 20*time.Second)
	mustCommit(t, a)
	produce(t, cl, second)
	pollN(t, a, len(second), 20*time.Second)
	a.Close() // without Commit

	b := mustConsumer(t, cfg)
	got := pollN(t, b, len(second), 30*time.Second)
	// Anything more is not expected either.
	more, err := pollFor(b, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, more...)
	want := idsOf(second)
	seen := map[string]bool{}
	for _, r := range got {
		if _, ok := want[idOf(r)]; !ok || seen[idOf(r)] {
			t.Errorf("record %s/%d@%d (%s): not of the uncommitted batch, or repeated", r.Topic, r.Partition, r.Offset, idOf(r))
		}
		seen[idOf(r)] = true
	}
	if len(seen) != len(second) {
		t.Errorf("redelivered %d of %d uncommitted records", len(seen), len(second))
	}
	mustCommit(t, b)
}

// testTwoMembers: two members share the partitions: each gets some
// records, between them all, none twice while commits succeed. The first
// member's empty poll does not hold up the rebalance the second causes.
func testTwoMembers(t *testing.T, env testEnv) {
	cfg := env.config(env.group(t))
	a := mustConsumer(t, cfg)
	if recs, err := pollFor(a, time.Second); err != nil || len(recs) != 0 {
		t.Fatalf("first poll: %d records, %v", len(recs), err)
	}
	cfg.ClientID = "second"
	b := mustConsumer(t, cfg)
	waitAssigned(t, env.brokers, cfg.Group, 2)

	recs := testRecords(env.topics, 400)
	produce(t, mustClient(t, env.brokers), recs)
	got, commitErrs := consumeShared(t, []*Consumer{a, b}, idsOf(recs))
	for i, g := range got {
		if len(g) == 0 {
			t.Errorf("member %d got no records", i)
		}
		for id, n := range g {
			if n > 1 && commitErrs == 0 {
				t.Errorf("member %d got %s %d times", i, id, n)
			}
		}
	}
	for id := range got[0] {
		if got[1][id] > 0 && commitErrs == 0 {
			t.Errorf("record %s went to both members", id)
		}
	}
	t.Logf("member 0: %d records, member 1: %d; %d commit errors", len(got[0]), len(got[1]), commitErrs)
}

// testHoldsBatch: a member that polled keeps its partitions until it
// commits: a member joining meanwhile gets nothing, and nothing the
// first committed comes again after the rebalance.
func testHoldsBatch(t *testing.T, env testEnv) {
	cl := mustClient(t, env.brokers)
	cfg := env.config(env.group(t))
	first := testRecords(env.topics, 120)
	a := mustConsumer(t, cfg)
	produce(t, cl, first)
	pollN(t, a, len(first), 20*time.Second)

	cfg.ClientID = "second"
	b := mustConsumer(t, cfg)
	// Longer than a heartbeat (2 s): the rebalance has begun and waits.
	if recs, err := pollFor(b, 5*time.Second); err != nil || len(recs) != 0 {
		t.Errorf("second member, while the first holds a batch: %d records, %v", len(recs), err)
	}
	mustCommit(t, a)
	waitAssigned(t, env.brokers, cfg.Group, 2)

	second := testRecords(env.topics, 200)
	produce(t, cl, second)
	got, _ := consumeShared(t, []*Consumer{a, b}, idsOf(second))
	old := idsOf(first)
	for i, g := range got {
		for id := range g {
			if _, ok := old[id]; ok {
				t.Errorf("member %d got committed record %s again", i, id)
			}
		}
	}
}

// testHeldTooLong: a member that holds a batch past the rebalance timeout
// while another joins is put out of the group: its Commit fails, and the
// other member gets the batch.
func testHeldTooLong(t *testing.T, env testEnv) {
	cl := mustClient(t, env.brokers)
	cfg := env.config(env.group(t))
	cfg.RebalanceTimeout = 3 * time.Second
	a := mustConsumer(t, cfg)
	recs := testRecords(env.topics, 80)
	produce(t, cl, recs)
	pollN(t, a, len(recs), 20*time.Second)

	cfg.ClientID = "second"
	b := mustConsumer(t, cfg)
	// The first is put out; the second gets everything.
	waitGroup(t, env.brokers, cfg.Group, func(g kadm.DescribedGroup) bool {
		return len(g.Members) == 1 && g.Members[0].ClientID == "second" && assigned(g.Members[0]) == 4*3
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.Commit(ctx)
	if err == nil {
		t.Fatal("Commit after the member was put out of the group succeeded")
	}
	t.Logf("Commit: %v", err)
	a.Close() // rather than rejoin and take partitions back
	got, _ := consumeShared(t, []*Consumer{b}, idsOf(recs))
	if len(got[0]) != len(recs) {
		t.Errorf("second member got %d of the %d records", len(got[0]), len(recs))
	}
}

// testLag: Lag counts what the group has not committed.
func testLag(t *testing.T, env testEnv) {
	cl := mustClient(t, env.brokers)
	c := mustConsumer(t, env.config(env.group(t)))
	recs := testRecords(env.topics, 50)
	produce(t, cl, recs)
	pollN(t, c, len(recs), 20*time.Second)
	wantLag(t, c, 50)
	mustCommit(t, c)
	wantLag(t, c, 0)
	produce(t, cl, testRecords(env.topics, 7))
	wantLag(t, c, 7)
}

// testClose: a Poll under way when Close comes, and every call after,
// returns ErrClosed at once and no records; Close twice is fine.
func testClose(t *testing.T, env testEnv) {
	cl := mustClient(t, env.brokers)
	c := mustConsumer(t, env.config(env.group(t)))
	produce(t, cl, testRecords(env.topics, 10))
	pollN(t, c, 10, 20*time.Second) // polled, not committed

	type result struct {
		n   int
		err error
		at  time.Time
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		recs, err := c.Poll(ctx)
		res <- result{len(recs), err, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond) // the Poll waits
	closing := time.Now()
	c.Close()
	closed := time.Now()
	t.Logf("Close took %v", closed.Sub(closing).Round(time.Millisecond))
	select {
	case r := <-res:
		if r.n != 0 || !errors.Is(r.err, ErrClosed) {
			t.Errorf("Poll under way at Close: %d records, %v; want ErrClosed", r.n, r.err)
		}
		if r.at.Sub(closed) > time.Second {
			t.Errorf("Poll under way returned %v after Close", r.at.Sub(closed))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Poll under way did not return after Close")
	}

	produce(t, cl, testRecords(env.topics, 10))
	start := time.Now()
	recs, err := c.Poll(context.Background())
	if len(recs) != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Poll after Close: %d records, %v; want ErrClosed", len(recs), err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Poll after Close took %v", d)
	}
	if err := c.Commit(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
	if _, err := c.Lag(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Lag after Close: %v", err)
	}
	c.Close()
}

// testPollContext: a cancelled context is an error, a deadline is not.
func testPollContext(t *testing.T, env testEnv) {
	c := mustConsumer(t, env.config(env.group(t)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if recs, err := c.Poll(ctx); len(recs) != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with a cancelled context: %d records, %v", len(recs), err)
	}
	if recs, err := pollFor(c, 200*time.Millisecond); len(recs) != 0 || err != nil {
		t.Errorf("Poll that times out: %d records, %v; want nil, nil", len(recs), err)
	}
}

// testStartAtEnd: a new group told to start at the end skips what is
// there.
func testStartAtEnd(t *testing.T, env testEnv) {
	cfg := env.config(env.group(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := mustClient(t, env.brokers)
	if err := ensureTopics(ctx, admin, cfg.withDefaults(), testLogger(t), env.topics); err != nil {
		t.Fatal(err)
	}
	cl := mustClient(t, env.brokers)
	produce(t, cl, testRecords(env.topics, 20))
	cfg.StartAtEnd = true
	c := mustConsumer(t, cfg)
	waitAssigned(t, env.brokers, cfg.Group, 1)
	// The member has listed the end offsets once it polled nothing.
	for range 3 {
		if recs, err := pollFor(c, 500*time.Millisecond); err != nil || len(recs) != 0 {
			t.Fatalf("Poll before new records: %d records, %v", len(recs), err)
		}
	}
	later := testRecords(env.topics, 8)
	produce(t, cl, later)
	want := idsOf(later)
	for _, r := range pollN(t, c, len(later), 20*time.Second) {
		if _, ok := want[idOf(r)]; !ok {
			t.Errorf("record %s/%d@%d was there before the group began", r.Topic, r.Partition, r.Offset)
		}
	}
}

// BenchmarkPoll is a member catching up: it polls and commits records of
// about 300 bytes from a kfake cluster (6 partitions a topic), in batches
// of MaxPollRecords (1000), fetching as it goes; b.N is the number of
// records, all produced before the timer starts (and before the member
// joins, so none is fetched untimed).
func BenchmarkPoll(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	brokers, stop, err := StartFake(ctx, 6, testLogger(b))
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	cl := mustClient(b, brokers, kgo.ProducerLinger(5*time.Millisecond))
	for done := 0; done < b.N; done += 20000 {
		produce(b, cl, testRecords(DefaultTopics(), min(20000, b.N-done)))
	}
	c := mustConsumer(b, Config{Brokers: brokers, Group: "bench"})
	b.ResetTimer()
	for got := 0; got < b.N; {
		batch, err := pollFor(c, 10*time.Second)
		if err != nil || len(batch) == 0 {
			b.Fatalf("Poll: %d records, %v", len(batch), err)
		}
		got += len(batch)
		if err := c.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
