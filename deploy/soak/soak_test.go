//go:build integration

package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// settings of a run; the short form is the default, the long form comes
// from the environment (go tool task soak).
type settings struct {
	families   int
	traffic    time.Duration // how long the families log
	batchEvery time.Duration // a family logs a day's events this often
	killEvery  time.Duration // mean time between kills
	offline    bool
}

func loadSettings(t *testing.T) settings {
	s := settings{families: 4, traffic: 60 * time.Second, batchEvery: 2 * time.Second, killEvery: 6 * time.Second, offline: true}
	if v := os.Getenv("ZONER_SOAK_FAMILIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ZONER_SOAK_FAMILIES=%q: want a whole number, 1 or more", v)
		}
		s.families = n
	}
	for env, d := range map[string]*time.Duration{"ZONER_SOAK_DURATION": &s.traffic, "ZONER_SOAK_BATCH_EVERY": &s.batchEvery,
		"ZONER_SOAK_KILL_EVERY": &s.killEvery} {
		if v := os.Getenv(env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 10m", env, v)
			}
			*d = x
		}
	}
	return s
}

// batch is one day of one family's logs, as posted to its hub.
type batch struct {
	family  int
	ids     []uuid.UUID
	made    time.Time // when its events were stamped (their HLC wall)
	last    syncproto.HLC
	offline bool // the family's link was cut when it was posted
	fresh   time.Duration
}

// family is one family and its hub, driven by the test.
type family struct {
	gen *cloudtest.Family
	hub *hub
	mu  sync.Mutex
	cut bool
}

func (f *family) isCut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cut
}

func (f *family) setCut(cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = cut
	if cut {
		f.hub.proxy.Cut()
	} else {
		f.hub.proxy.Mend()
	}
}

// post sends events to a hub's write endpoint until it takes them: a hub
// that is being restarted refuses the connection, and a retry of events
// it already holds changes nothing.
func post(ctx context.Context, url string, es []syncproto.Envelope) error {
	body := bytes.NewBufferString("[")
	for i, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			return err
		}
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(b)
	}
	body.WriteByte(']')
	c := http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body.Bytes()))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200:
				return nil
			case resp.StatusCode < 500:
				return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("POST %s: gave up: %w", url, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// The whole system under failure: see the package comment.
func TestSoak(t *testing.T) {
	set := loadSettings(t)
	c := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fams := make([]*family, set.families)
	for i := range fams {
		gen := cloudtest.NewFamily(time.Now().Add(-48*time.Hour).Truncate(time.Minute), fmt.Sprintf("BA%d", 100+i))
		h, err := c.startHub(gen.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		fams[i] = &family{gen: gen, hub: h}
		setup := gen.Setup()
		n := len(gen.Members) + 1
		if err := post(ctx, h.url+"/api/v1/setup", setup[:n]); err != nil {
			t.Fatal(err)
		}
		if err := post(ctx, h.url+"/api/v1/events", setup[n:]); err != nil {
			t.Fatal(err)
		}
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: c.redis, DB: c.redisDB})
	t.Cleanup(func() { rdb.Close() })

	var (
		mu      sync.Mutex
		batches []*batch
		kills   = map[string]int{}
		cuts    int
		wg      sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(set.traffic)
	t.Logf("soak: %d families, %s of traffic, a day's logs every %s per family, a kill every ~%s", set.families, set.traffic, set.batchEvery, set.killEvery)

	// The families log.
	for i, f := range fams {
		wg.Go(func() {
			for day := 0; time.Now().Before(stop); day++ {
				es := f.gen.Day(day % 30)
				b := &batch{family: i, made: time.Now(), last: es[len(es)-1].HLC, offline: f.isCut()}
				for _, e := range es {
					b.ids = append(b.ids, e.ID)
				}
				if err := post(ctx, f.hub.url+"/api/v1/events", es); err != nil {
					t.Errorf("family %d: %v", i, err)
					return
				}
				mu.Lock()
				batches = append(batches, b)
				mu.Unlock()
				time.Sleep(jitter(set.batchEvery))
			}
		})
	}
	// Their links come and go.
	if set.offline {
		for _, f := range fams {
			wg.Go(func() {
				for time.Now().Before(stop) {
					time.Sleep(between(3*time.Second, 12*time.Second))
					if !time.Now().Before(stop) {
						break
					}
					f.setCut(true)
					mu.Lock()
					cuts++
					mu.Unlock()
					time.Sleep(between(time.Second, 6*time.Second))
					f.setCut(false)
				}
			})
		}
	}
	// Processes die: every cloud process in turn (in a shuffled order),
	// and a family's hub every third kill.
	wg.Go(func() {
		cloudProcs := c.all()
		rand.Shuffle(len(cloudProcs), func(i, j int) { cloudProcs[i], cloudProcs[j] = cloudProcs[j], cloudProcs[i] })
		// The NATS server goes second, so that even a short run has it.
		i := slices.Index(cloudProcs, c.nats)
		cloudProcs[1], cloudProcs[i] = cloudProcs[i], cloudProcs[1]
		for n := 0; ; n++ {
			time.Sleep(jitter(set.killEvery))
			if !time.Now().Before(stop) {
				return
			}
			p := cloudProcs[(n-n/3)%len(cloudProcs)]
			if n%3 == 2 {
				p = fams[rand.IntN(len(fams))].hub.proc
			}
			p.kill()
			time.Sleep(between(300*time.Millisecond, 3*time.Second))
			if err := p.start(); err != nil {
				t.Errorf("restart %s: %v", p.name, err)
				return
			}
			mu.Lock()
			kills[kind(p.name)]++
			mu.Unlock()
		}
	})
	// How soon each day's logs are reflected in the members' advice.
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for ctx.Err() == nil {
			mu.Lock()
			var open []*batch
			for _, b := range batches {
				if b.fresh == 0 {
					open = append(open, b)
				}
			}
			mu.Unlock()
			based := map[int]syncproto.HLC{}
			for _, b := range open {
				h, ok := based[b.family]
				if !ok {
					h = oldestAdvice(ctx, rdb, fams[b.family].gen)
					based[b.family] = h
				}
				if !h.IsZero() && h.Compare(b.last) >= 0 {
					mu.Lock()
					b.fresh = time.Since(b.made)
					mu.Unlock()
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	wg.Wait()
	trafficEnd := time.Now()
	if t.Failed() {
		t.FailNow()
	}
	for _, f := range fams {
		f.setCut(false)
	}

	// Everything drains: every event of every hub reaches RAW_EVENTS,
	// once.
	w, err := snowflake.Open(ctx, c.snowflake(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ids := map[uuid.UUID]bool{}
	var families []uuid.UUID
	for _, f := range fams {
		families = append(families, f.gen.ID)
	}
	for _, b := range batches {
		for _, id := range b.ids {
			ids[id] = true
		}
	}
	posted := len(ids)
	for _, f := range fams {
		for _, id := range hubEvents(t, f.hub.url) {
			ids[id] = true
		}
	}
	var rows []cloud.Row
	wait.For(t, 10*time.Minute, "every event in the warehouse", func() error {
		rows, err = w.Events(ctx, families, time.Time{})
		if err != nil {
			return err
		}
		have := map[uuid.UUID]bool{}
		for _, r := range rows {
			have[r.ID] = true
		}
		missing := 0
		for id := range ids {
			if !have[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d events the hubs hold are not in RAW_EVENTS yet", missing, len(ids))
		}
		return nil
	})
	n, distinct, err := w.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != distinct {
		t.Errorf("RAW_EVENTS holds %d rows for %d ids: some event is there more than once", n, distinct)
	}
	if distinct != int64(len(rows)) {
		t.Errorf("RAW_EVENTS holds %d events, the families' are %d: it holds events of no family of the run", distinct, len(rows))
	}

	// Every member's advice accounts for the family's newest event.
	wait.For(t, 3*time.Minute, "advice that accounts for every family's newest event", func() error {
		rows, err = w.Events(ctx, families, time.Time{})
		if err != nil {
			return err
		}
		// The newest news: the cloud's own advice is not something advice
		// is based on.
		newest := map[uuid.UUID]string{}
		for _, r := range rows {
			if r.Type == syncproto.TypeRecommendationUpdated {
				continue
			}
			if r.HLC > newest[r.Family] { // HLC strings sort in time order
				newest[r.Family] = r.HLC
			}
		}
		for _, f := range fams {
			for _, m := range f.gen.Members {
				rec, err := advice(ctx, rdb, f.gen.ID, m)
				if err != nil {
					return err
				}
				if rec.BasedOn != newest[f.gen.ID] {
					return fmt.Errorf("member %s's advice is based on %s, the family's newest event is %s", m, rec.BasedOn, newest[f.gen.ID])
				}
				if age := time.Since(rec.ComputedAt); age > time.Minute {
					return fmt.Errorf("member %s's advice was computed %s ago", m, age.Round(time.Second))
				}
			}
		}
		return nil
	})
	cancel()
	<-pollDone

	r := report{settings: set, start: start, trafficEnd: trafficEnd, posted: posted, held: len(ids),
		stored: len(rows), kills: kills, cuts: cuts}
	r.add(batches, rows)
	text := r.String()
	t.Log("\n" + text)
	if path := os.Getenv("ZONER_SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// oldestAdvice is the least recent based_on among a family's members'
// recommendations in Redis; zero while one is missing.
func oldestAdvice(ctx context.Context, rdb *goredis.Client, f *cloudtest.Family) syncproto.HLC {
	var oldest syncproto.HLC
	for i, m := range f.Members {
		rec, err := advice(ctx, rdb, f.ID, m)
		if err != nil {
			return syncproto.HLC{}
		}
		h, err := syncproto.ParseHLC(rec.BasedOn)
		if err != nil {
			return syncproto.HLC{}
		}
		if i == 0 || h.Compare(oldest) < 0 {
			oldest = h
		}
	}
	return oldest
}

func advice(ctx context.Context, rdb *goredis.Client, family, member uuid.UUID) (*cloud.Recommendation, error) {
	b, err := rdb.Get(ctx, cloud.RecommendationKey(family, member)).Bytes()
	if err != nil {
		return nil, fmt.Errorf("member %s's advice: %w", member, err)
	}
	var rec cloud.Recommendation
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("member %s's advice: %w", member, err)
	}
	return &rec, nil
}

// hubEvents lists the ids of every event a hub holds.
func hubEvents(t *testing.T, url string) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	after := uint64(0)
	for {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/events?limit=1000&after=%d", url, after))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				ID uuid.UUID `json:"id"`
			} `json:"events"`
			Next uint64 `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if len(page.Events) == 0 {
			return ids
		}
		after = page.Next
	}
}

// jitter is d give or take half.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

func between(lo, hi time.Duration) time.Duration {
	return lo + rand.N(hi-lo)
}
