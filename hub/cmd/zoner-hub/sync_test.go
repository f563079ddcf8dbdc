package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/netproxy"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// testCloud is the cloud's NATS, embedded, with its downlink, on a fixed
// leaf port so that it can be restarted in place.
type testCloud struct {
	tb       testing.TB
	dir      string
	leafPort int
	tls      *tls.Config
	*natsedge.Server
	down *natsedge.FetchServer
	svc  *nats.Conn
	js   jetstream.JetStream
}

func startTestCloud(tb testing.TB, leafTLS ...*tls.Config) *testCloud {
	tb.Helper()
	c := &testCloud{tb: tb, dir: tb.TempDir(), leafPort: freeTCPPort(tb)}
	if len(leafTLS) > 0 {
		c.tls = leafTLS[0]
	}
	c.start()
	tb.Cleanup(c.stop)
	return c
}

func (c *testCloud) start() {
	c.tb.Helper()
	ctx := context.Background()
	var err error
	c.Server, err = natsedge.Start(ctx, natsedge.ServerConfig{
		StoreDir: c.dir, Port: -1, LeafPort: c.leafPort, LeafTLS: c.tls,
		Secret: []byte("the cloud's test secret, 32 bytes"), ServicePassword: "svc",
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		c.tb.Fatal(err)
	}
	nc, err := c.Connect("test-downlink")
	if err != nil {
		c.tb.Fatal(err)
	}
	c.svc = nc
	if c.down, err = natsedge.ServeFetches(ctx, nc, slog.New(slog.DiscardHandler)); err != nil {
		c.tb.Fatal(err)
	}
	if c.js, err = jetstream.New(nc); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *testCloud) stop() {
	if c.Server == nil {
		return
	}
	c.down.Close()
	c.svc.Close()
	c.Close()
	c.Server = nil
}

// creds writes a family's credentials file.
func (c *testCloud) creds(family uuid.UUID) string {
	c.tb.Helper()
	b, _ := json.Marshal(c.Credentials(family))
	path := filepath.Join(c.tb.TempDir(), "family.creds")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		c.tb.Fatal(err)
	}
	return path
}

// ids lists the distinct event ids the ingest stream holds, and how many
// messages it holds.
func (c *testCloud) ids() (map[string]int, uint64) {
	c.tb.Helper()
	ctx := context.Background()
	s, err := c.js.Stream(ctx, syncproto.IngestStream)
	if err != nil {
		c.tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		c.tb.Fatal(err)
	}
	out := map[string]int{}
	if info.State.Msgs == 0 {
		return out, 0
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		c.tb.Fatal(err)
	}
	for n := uint64(0); n < info.State.Msgs; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			c.tb.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			out[m.Headers().Get(syncproto.HeaderID)]++
			got++
		}
		if got == 0 {
			c.tb.Fatalf("read %d of the %d messages in the ingest stream", n, info.State.Msgs)
		}
		n += uint64(got)
	}
	return out, info.State.Msgs
}

func freeTCPPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// linkProxy stands between a hub and the cloud's leaf port: Cut drops the
// link and refuses it until Mend.
type linkProxy struct{ *netproxy.Proxy }

func newLinkProxy(tb testing.TB, target string) *linkProxy {
	tb.Helper()
	p, err := netproxy.Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return &linkProxy{p}
}

func (p *linkProxy) URL() string { return "nats-leaf://" + p.Addr() }

// linked runs a hub that syncs with the cloud through proxy.
func linked(tb testing.TB, cloud *testCloud, proxy *linkProxy, family uuid.UUID, dir string) (*Main, *client) {
	tb.Helper()
	m := mustRun(tb, dir, func(m *Main) {
		m.CloudURL = proxy.URL()
		m.CloudCreds = cloud.creds(family)
		m.CloudReconnect = 100 * time.Millisecond
	})
	return m, &client{tb: tb, base: m.URL}
}

type syncStatus struct {
	LogSeq uint64 `json:"log_seq"`
	Cloud  struct {
		Configured bool       `json:"configured"`
		Linked     bool       `json:"linked"`
		Pending    uint64     `json:"pending"`
		LastSynced *time.Time `json:"last_synced"`
		Received   uint64     `json:"received"`
		LastError  string     `json:"last_error"`
	} `json:"cloud"`
}

func (c *client) sync() syncStatus {
	c.tb.Helper()
	var s syncStatus
	c.json("GET", "/api/v1/sync", nil, 200, &s)
	return s
}

// meals makes n meal events for a member, spread over the days before now.
func (f *family) meals(member uuid.UUID, n int) []syncproto.Envelope {
	out := make([]syncproto.Envelope, n)
	for i := range out {
		at := testNow.Add(-time.Duration(i+1) * 7 * time.Minute)
		out[i] = f.event(member, at, time.Time{}, "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack})
	}
	return out
}

// write posts events in batches of the most one write may carry.
func (c *client) write(f *family, es []syncproto.Envelope) {
	c.tb.Helper()
	for len(es) > 0 {
		n := min(len(es), 500)
		c.json("POST", "/api/v1/events", f.encode(es[:n]...), 200, nil)
		es = es[n:]
	}
}

// TestSyncBacklogReachesTheCloud: a hub offline with thousands of events
// sends every one up once the link comes, and its status says so.
func TestSyncBacklogReachesTheCloud(t *testing.T) {
	cloud := startTestCloud(t)
	proxy := newLinkProxy(t, fmt.Sprintf("127.0.0.1:%d", cloud.leafPort))
	proxy.Cut()
	f := newFamily(t)
	_, c := linked(t, cloud, proxy, f.id, t.TempDir())
	// Setting up another family than the credentials' is refused, saying why.
	other := newFamily(t)
	if code, body := c.do("POST", "/api/v1/setup", other.encode(other.setup()...)); code != 409 || !strings.Contains(string(body), f.id.String()) {
		t.Fatalf("setup of another family on a linked hub: %d %s", code, body)
	}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	c.write(f, f.meals(f.ada, 3000))
	st := c.sync()
	if !st.Cloud.Configured || st.Cloud.Linked || st.Cloud.Pending != 3004 || st.Cloud.LastSynced != nil {
		t.Fatalf("offline status: %+v", st.Cloud)
	}
	if ids, _ := cloud.ids(); len(ids) != 0 {
		t.Fatalf("the cloud holds %d events before the link came up", len(ids))
	}

	proxy.Mend()
	wait.Until(t, time.Minute, "in step", func() (bool, string) {
		st := c.sync()
		return st.Cloud.Linked && st.Cloud.Pending == 0 && st.Cloud.LastSynced != nil, fmt.Sprintf("%+v", st.Cloud)
	})
	ids, msgs := cloud.ids()
	if len(ids) != 3004 {
		t.Fatalf("the cloud holds %d distinct events, want 3004", len(ids))
	}
	if msgs != 3004 {
		t.Errorf("the cloud holds %d messages for 3004 events: duplicates", msgs)
	}
	code, body := c.do("GET", "/metrics", nil)
	if code != 200 || !strings.Contains(string(body), "zoner_hub_sync_pending_events 0") || !strings.Contains(string(body), "zoner_hub_sync_sent_total 3004") {
		t.Errorf("metrics lack the sync state:\n%s", grep(string(body), "zoner_hub_sync"))
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

type memberJSON struct {
	ID   uuid.UUID `json:"id"`
	Data struct {
		DisplayName string `json:"display_name"`
	} `json:"data"`
	HLC string `json:"hlc"`
}

func (c *client) members() map[uuid.UUID]memberJSON {
	c.tb.Helper()
	var out struct {
		Members []memberJSON `json:"members"`
	}
	c.json("GET", "/api/v1/members", nil, 200, &out)
	m := map[uuid.UUID]memberJSON{}
	for _, x := range out.Members {
		m[x.ID] = x
	}
	return m
}

// eventIDs are the ids of every event a hub holds.
func (c *client) eventIDs() map[uuid.UUID]bool {
	c.tb.Helper()
	count, _ := allEvents(c, 1000)
	out := map[uuid.UUID]bool{}
	for id := range count {
		out[id] = true
	}
	return out
}

// TestSyncTwoHubsConverge: a second device of the family starts empty and
// gets the family from the cloud; then both go offline, both rename the
// same person, and once linked again both hold the same events and the
// same name — the edit with the later HLC.
func TestSyncTwoHubsConverge(t *testing.T) {
	cloud := startTestCloud(t)
	target := fmt.Sprintf("127.0.0.1:%d", cloud.leafPort)
	proxyA, proxyB := newLinkProxy(t, target), newLinkProxy(t, target)
	f := newFamily(t)
	_, a := linked(t, cloud, proxyA, f.id, t.TempDir())
	a.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	a.write(f, append([]syncproto.Envelope{f.tripEvent()}, f.meals(f.kemi, 20)...))

	_, b := linked(t, cloud, proxyB, f.id, t.TempDir())
	wait.Until(t, 30*time.Second, "B has the family", func() (bool, string) {
		ms := b.members()
		return len(ms) == 3 && len(b.eventIDs()) == 25, fmt.Sprintf("%d members, %d events", len(ms), len(b.eventIDs()))
	})
	// B's own events go to A too.
	b.write(f, f.meals(f.tobi, 5))
	wait.Until(t, 30*time.Second, "A has B's events", func() (bool, string) {
		n := len(a.eventIDs())
		return n == 30, fmt.Sprintf("%d events", n)
	})

	// Both offline; each renames Ada. B's edit is stamped later.
	proxyA.Cut()
	proxyB.Cut()
	wait.Until(t, 10*time.Second, "both offline", func() (bool, string) {
		return !a.sync().Cloud.Linked && !b.sync().Cloud.Linked, "still linked"
	})
	rename := func(name string) syncproto.Envelope {
		la := "America/Los_Angeles"
		return f.event(f.ada, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: clock(23, 0), WakeTime: clock(7, 0)})
	}
	first, second := rename("Ada (edited on A)"), rename("Ada (edited on B)")
	if first.HLC.Compare(second.HLC) >= 0 {
		t.Fatal("the test's clock did not advance")
	}
	// A writes the older edit last, as a slower phone would.
	b.write(f, []syncproto.Envelope{second})
	a.write(f, append([]syncproto.Envelope{first}, f.meals(f.ada, 3)...))
	if got := a.members()[f.ada].Data.DisplayName; got != "Ada (edited on A)" {
		t.Fatalf("A offline shows %q", got)
	}

	proxyA.Mend()
	proxyB.Mend()
	wait.Until(t, 30*time.Second, "converged", func() (bool, string) {
		ea, eb := a.eventIDs(), b.eventIDs()
		na, nb := a.members()[f.ada].Data.DisplayName, b.members()[f.ada].Data.DisplayName
		same := len(ea) == 35 && len(eb) == 35 && na == nb
		for id := range ea {
			same = same && eb[id]
		}
		return same, fmt.Sprintf("A: %d events, Ada is %q; B: %d events, Ada is %q", len(ea), na, len(eb), nb)
	})
	if got := b.members()[f.ada].Data.DisplayName; got != "Ada (edited on B)" {
		t.Fatalf("after converging Ada is %q, want B's later edit", got)
	}
	ids, msgs := cloud.ids()
	if len(ids) != 35 || msgs != 35 {
		t.Fatalf("the cloud holds %d events in %d messages, want 35 in 35: events that came down went back up", len(ids), msgs)
	}
}

// TestSyncCloudNewsOverTLS: over a TLS link (the cloud's certificate
// trusted through -cloud-ca), news the cloud made for the family — a
// flight delay — reaches the hub and is applied like any event; what the
// cloud sends that does not pass the hub's validation is refused, counted,
// and does not hold up what comes after it.
func TestSyncCloudNewsOverTLS(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cloud := startTestCloud(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if !strings.HasPrefix(cloud.LeafURL(), "tls://") {
		t.Fatalf("leaf URL %s is not tls://", cloud.LeafURL())
	}
	f := newFamily(t)
	m := mustRun(t, t.TempDir(), func(m *Main) {
		m.CloudURL = cloud.LeafURL()
		m.CloudCreds = cloud.creds(f.id)
		m.CloudCA = certFile
		m.CloudReconnect = 100 * time.Millisecond
	})
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	c.write(f, []syncproto.Envelope{f.tripEvent()})
	wait.Until(t, 30*time.Second, "linked over TLS and in step", func() (bool, string) {
		st := c.sync()
		return st.Cloud.Linked && st.Cloud.Pending == 0, fmt.Sprintf("%+v", st.Cloud)
	})

	publish := func(raw []byte, family uuid.UUID, typ syncproto.Type) {
		t.Helper()
		msg := nats.NewMsg(syncproto.IngestSubject(f.id, typ))
		msg.Data = raw
		msg.Header.Set(syncproto.HeaderFamily, family.String())
		msg.Header.Set(syncproto.HeaderType, string(typ))
		if _, err := cloud.js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	other := newFamily(t)
	publish([]byte(`{"id": "not an event"`), f.id, syncproto.TypeFlightUpdated)
	publish(other.encode(other.setup()[0]), f.id, syncproto.TypeFamilyUpserted)
	delay := f.event(uuid.Nil, testNow, time.Time{}, "Europe/London", &syncproto.FlightUpdated{TripID: f.trip, Leg: 1, Flight: "BA286",
		Status: syncproto.FlightDelayed, Depart: f.tripLegs[0].Depart.Add(3 * time.Hour), Arrive: f.tripLegs[0].Arrive.Add(3 * time.Hour)})
	delay.Origin = "cloud:flight-status"
	publish(f.encode(delay), f.id, syncproto.TypeFlightUpdated)
	if err := natsedge.Ring(cloud.svc, f.id); err != nil {
		t.Fatal(err)
	}

	var trip struct {
		Updates []struct {
			Status string `json:"status"`
		} `json:"flight_updates"`
	}
	wait.Until(t, 10*time.Second, "the delay applied", func() (bool, string) {
		c.json("GET", "/api/v1/trips/"+f.trip.String(), nil, 200, &trip)
		return len(trip.Updates) == 1 && trip.Updates[0].Status == "delayed", fmt.Sprintf("%+v", trip.Updates)
	})
	var st struct {
		Cloud struct {
			Refused  int `json:"refused"`
			Received int `json:"received"`
		} `json:"cloud"`
	}
	// The counts are taken once the batch is stored, a moment after the
	// delay is applied.
	wait.Until(t, 10*time.Second, "two events refused and one received", func() (bool, string) {
		c.json("GET", "/api/v1/sync", nil, 200, &st)
		return st.Cloud.Refused == 2 && st.Cloud.Received == 1, fmt.Sprintf("refused %d, received %d", st.Cloud.Refused, st.Cloud.Received)
	})
}
