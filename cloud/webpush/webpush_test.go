package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/webpush"
	"github.com/zoner-family/zoner/cloud/webpush/webpushtest"
)

// device is a browser's side of a subscription: its ECDH key pair and
// auth secret, made here, so the test can decrypt what it is sent.
type device struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newDevice(t *testing.T) *device {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &device{priv: k, auth: auth}
}

func (d *device) keys() cloud.PushKeys {
	return cloud.PushKeys{
		P256dh: base64.RawURLEncoding.EncodeToString(d.priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(d.auth),
	}
}

// decrypt opens an aes128gcm body sent to d per RFC 8291.
func (d *device) decrypt(body []byte) ([]byte, error) {
	return webpushtest.Decrypt(d.priv, d.auth, body)
}

// received is one push the push service took.
type received struct {
	device   string
	reminder cloud.Reminder
	header   http.Header
}

// pushService is a local push service: it checks each request's VAPID
// token and headers, decrypts the payload with the device's keys, and
// answers 201, or 410 for the devices marked gone.
type pushService struct {
	t       *testing.T
	srv     *httptest.Server
	vapid   *ecdsa.PublicKey
	vapidB  string
	mu      sync.Mutex
	devices map[string]*device
	gone    map[string]bool
	got     []received
}

func newPushService(t *testing.T, vapidPublic string) *pushService {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(vapidPublic)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pushService{t: t, vapid: pub, vapidB: vapidPublic, devices: map[string]*device{}, gone: map[string]bool{}}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) subscribe(t *testing.T, name string, members ...uuid.UUID) cloud.PushSubscription {
	d := newDevice(t)
	ps.mu.Lock()
	ps.devices[name] = d
	ps.mu.Unlock()
	return cloud.PushSubscription{Endpoint: ps.srv.URL + "/push/" + name, Keys: d.keys(), Members: members}
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	t := ps.t
	name := strings.TrimPrefix(r.URL.Path, "/push/")
	ps.mu.Lock()
	d, gone := ps.devices[name], ps.gone[name]
	ps.mu.Unlock()
	if r.Method != "POST" || d == nil {
		t.Errorf("push service: %s %s: no such subscription", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if gone {
		w.WriteHeader(http.StatusGone)
		return
	}
	if err := ps.checkVAPID(r.Header.Get("Authorization")); err != nil {
		t.Errorf("push service: VAPID: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		t.Errorf("Content-Encoding %q, want aes128gcm", ce)
	}
	if ttl, err := strconv.Atoi(r.Header.Get("TTL")); err != nil || ttl < 60 || ttl > 3600 {
		t.Errorf("TTL %q: want the seconds until the item starts (at least 60, under the lead)", r.Header.Get("TTL"))
	}
	if u := r.Header.Get("Urgency"); u != "high" {
		t.Errorf("Urgency %q, want high", u)
	}
	topic := r.Header.Get("Topic")
	if len(topic) != 32 || strings.Trim(topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("Topic %q: want 32 base64url characters", topic)
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > 4096 {
		t.Errorf("body of %d bytes: push services take 4096 at most", len(body))
	}
	plain, err := d.decrypt(body)
	if err != nil {
		t.Errorf("push service: decrypt: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var rem cloud.Reminder
	if err := json.Unmarshal(plain, &rem); err != nil {
		t.Errorf("payload %q: %v", plain, err)
	}
	if rem.Tag != topic {
		t.Errorf("payload tag %q, Topic %q: want the same, so the device replaces it too", rem.Tag, topic)
	}
	ps.mu.Lock()
	ps.got = append(ps.got, received{device: name, reminder: rem, header: r.Header.Clone()})
	ps.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" (RFC 8292): the key is the
// server's, the JWT is ES256 by it, its aud is this origin, its exp is
// in the next 24 hours and it has a sub.
func (ps *pushService) checkVAPID(h string) error {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return errors.New("not the vapid scheme: " + h)
	}
	params := map[string]string{}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != ps.vapidB {
		return errors.New("k is not the server's public key")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(params["t"], claims, func(tok *jwt.Token) (any, error) { return ps.vapid, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(ps.srv.URL), jwt.WithExpirationRequired())
	if err != nil {
		return err
	}
	exp, _ := claims.GetExpirationTime()
	if exp.After(time.Now().Add(24 * time.Hour)) {
		return errors.New("exp more than 24 hours ahead")
	}
	if sub, _ := claims.GetSubject(); !strings.HasPrefix(sub, "mailto:") {
		return errors.New("sub is not a mailto: contact: " + sub)
	}
	return nil
}

func (ps *pushService) take() []received {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := ps.got
	ps.got = nil
	return out
}

// plans is the recommender's side: each member's current recommendation.
type plans struct {
	mu     sync.Mutex
	family uuid.UUID
	recs   map[uuid.UUID]*cloud.Recommendation
}

func (p *plans) ActiveFamilies() []uuid.UUID { return []uuid.UUID{p.family} }

func (p *plans) Recommendation(_ context.Context, family, member uuid.UUID) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.recs[member]
	if family != p.family || rec == nil {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no member"}
	}
	return json.Marshal(rec)
}

func (p *plans) set(member uuid.UUID, name string, items ...circadian.Item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs[member] = &cloud.Recommendation{Version: 1, Family: p.family, Member: member, Name: name,
		Now: []circadian.Item{}, Next: items}
}

func item(kind circadian.ItemKind, start time.Time, tz string) circadian.Item {
	return circadian.Item{Kind: kind, Start: start, End: start.Add(30 * time.Minute), TZ: tz, Text: string(kind) + " now"}
}

var (
	family = uuid.MustParse("0193f000-0000-7000-8000-0000000000f1")
	ada    = uuid.MustParse("0193f000-0000-7000-8000-0000000000a1")
	ben    = uuid.MustParse("0193f000-0000-7000-8000-0000000000a2")
	cai    = uuid.MustParse("0193f000-0000-7000-8000-0000000000a3")
)

// The scheduler, the store and the Web Push client, against a local push
// service that decrypts every payload with the device's keys: reminders
// go out once per device and item across runs and restarts, not for an
// item the plan no longer has, not in quiet hours, not for members who
// did not opt in; a subscription the push service dropped is removed.
func TestNotifierSendsEncryptedRemindersOnce(t *testing.T) {
	ctx := t.Context()
	keys, err := webpush.LoadOrCreate(filepath.Join(t.TempDir(), "vapid.json"))
	if err != nil {
		t.Fatal(err)
	}
	ps := newPushService(t, keys.Public)
	sender, err := webpush.New(keys, "mailto:ops@zoner.example", ps.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	storePath := filepath.Join(t.TempDir(), "push.json")
	// 09:00 in London, 18:00 in Tokyo.
	now := time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := memcache.OpenPush(storePath, clock)
	if err != nil {
		t.Fatal(err)
	}
	api := &cloud.PushAPI{Store: store, PublicKey: keys.Public, Now: clock}
	phone, tablet, old := ps.subscribe(t, "phone", ada, ben), ps.subscribe(t, "tablet", ada), ps.subscribe(t, "old", ada)
	for _, s := range []cloud.PushSubscription{phone, tablet, old} {
		if _, err := api.SubscribePush(ctx, family, s); err != nil {
			t.Fatal(err)
		}
	}
	ps.gone["old"] = true
	// Ada and Ben opted in; Ben's quiet hours cover 18:00 in Tokyo; Cai
	// did not opt in (and no device asks for her).
	for m, p := range map[uuid.UUID]cloud.NotifyPrefs{
		ada: {Enabled: true, QuietStart: "22:00", QuietEnd: "07:00"},
		ben: {Enabled: true, QuietStart: "17:30", QuietEnd: "19:00"},
		cai: {Enabled: false},
	} {
		if _, err := api.SetNotifyPrefs(ctx, family, m, p); err != nil {
			t.Fatal(err)
		}
	}
	pl := &plans{family: family, recs: map[uuid.UUID]*cloud.Recommendation{}}
	nap := item(circadian.ItemNap, now.Add(5*time.Minute), "Europe/London")
	light := item(circadian.ItemLightSeek, now.Add(8*time.Minute), "Europe/London")
	meal := item(circadian.ItemMeal, now.Add(20*time.Minute), "Europe/London")
	pl.set(ada, "Ada", nap, light, meal,
		item(circadian.ItemSleep, now.Add(13*time.Hour), "Europe/London"),
		item(circadian.ItemCaffeineOK, now.Add(2*time.Minute), "Europe/London")) // no reminder for this kind
	pl.set(ben, "Ben", item(circadian.ItemNap, now.Add(5*time.Minute), "Asia/Tokyo"))
	pl.set(cai, "Cai", item(circadian.ItemNap, now.Add(5*time.Minute), "Europe/London"))

	n := &cloud.Notifier{Plans: pl, Store: store, Pusher: sender, Lead: 10 * time.Minute, Now: clock}
	res := n.RunOnce(ctx)
	got := ps.take()
	// Ada's nap and light window, on the phone and the tablet.
	if res.Sent != 4 || len(got) != 4 || res.Quiet != 1 || res.Removed != 1 || res.Failed != 0 {
		t.Fatalf("first run: %+v, %d received; want 4 sent (Ada's nap and light on two devices), 1 quiet (Ben), 1 removed (old)", res, len(got))
	}
	perDevice := map[string][]cloud.Reminder{}
	for _, g := range got {
		perDevice[g.device] = append(perDevice[g.device], g.reminder)
		if g.reminder.Member != ada || g.reminder.Family != family {
			t.Errorf("reminder for %s of %s, want Ada's", g.reminder.Member, g.reminder.Family)
		}
	}
	for _, dev := range []string{"phone", "tablet"} {
		kinds := map[circadian.ItemKind]cloud.Reminder{}
		for _, r := range perDevice[dev] {
			kinds[r.Kind] = r
		}
		if r, ok := kinds[circadian.ItemNap]; !ok || r.Title != "Nap at 09:05 · Ada" || !r.Start.Equal(nap.Start) || r.Body != "nap now" {
			t.Errorf("%s: nap reminder %+v", dev, r)
		}
		if r, ok := kinds[circadian.ItemLightSeek]; !ok || r.Title != "Light at 09:08 · Ada" {
			t.Errorf("%s: light reminder %+v", dev, r)
		}
	}
	if subs, _ := store.Subscriptions(ctx, family); len(subs) != 2 {
		t.Errorf("%d subscriptions after a 410, want 2 (the gone one removed)", len(subs))
	}

	// A second run, and a restarted scheduler on the saved store, send
	// nothing again.
	if res := n.RunOnce(ctx); res.Sent != 0 || len(ps.take()) != 0 {
		t.Errorf("second run sent %+v", res)
	}
	store2, err := memcache.OpenPush(storePath, clock)
	if err != nil {
		t.Fatal(err)
	}
	n2 := &cloud.Notifier{Plans: pl, Store: store2, Pusher: sender, Lead: 10 * time.Minute, Now: clock}
	if res := n2.RunOnce(ctx); res.Sent != 0 || len(ps.take()) != 0 {
		t.Errorf("after a restart: sent %+v", res)
	}

	// The plan changes before the meal's reminder is due: the meal moves
	// to 09:25. At 09:12 the old meal (09:20) would be due but is gone;
	// at 09:16 the new one goes out, under the same Topic.
	moved := item(circadian.ItemMeal, now.Add(25*time.Minute), "Europe/London")
	pl.set(ada, "Ada", nap, light, moved)
	now = now.Add(12 * time.Minute)
	if res := n2.RunOnce(ctx); res.Sent != 0 || len(ps.take()) != 0 {
		t.Errorf("09:12: sent %+v; the 09:20 meal is no longer planned", res)
	}
	now = now.Add(4 * time.Minute)
	res = n2.RunOnce(ctx)
	got = ps.take()
	if res.Sent != 2 || len(got) != 2 {
		t.Fatalf("09:16: %+v, %d received; want the moved meal on two devices", res, len(got))
	}
	for _, g := range got {
		if g.reminder.Kind != circadian.ItemMeal || !g.reminder.Start.Equal(moved.Start) || g.reminder.Title != "Meal at 09:25 · Ada" {
			t.Errorf("09:16: %+v", g.reminder)
		}
		if g.header.Get("Topic") != cloud.PushTopic(ada, meal) {
			t.Errorf("the moved meal's Topic is not the old meal's: a pending old push would not be replaced")
		}
		if ttl := g.header.Get("TTL"); ttl != "540" {
			t.Errorf("TTL %s, want 540 (seconds until 09:25)", ttl)
		}
	}

	// Ada opting out stops her reminders.
	api.Store = store2
	if _, err := api.SetNotifyPrefs(ctx, family, ada, cloud.NotifyPrefs{Enabled: false}); err != nil {
		t.Fatal(err)
	}
	pl.set(ada, "Ada", item(circadian.ItemNap, now.Add(3*time.Minute), "Europe/London"))
	if res := n2.RunOnce(ctx); res.Sent != 0 || len(ps.take()) != 0 {
		t.Errorf("after Ada opted out: sent %+v", res)
	}
}

// A push the service refuses (not 404/410) is released and tried again
// at the next run.
func TestNotifierRetriesAFailedPush(t *testing.T) {
	ctx := t.Context()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	sender, err := webpush.New(keys, "ops@zoner.example", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
	store, _ := memcache.OpenPush("", func() time.Time { return now })
	d := newDevice(t)
	if err := store.PutSubscription(ctx, family, cloud.PushSubscription{Endpoint: srv.URL + "/x", Keys: d.keys(), Members: []uuid.UUID{ada}}); err != nil {
		t.Fatal(err)
	}
	store.PutNotifyPrefs(ctx, family, ada, cloud.NotifyPrefs{Enabled: true})
	pl := &plans{family: family, recs: map[uuid.UUID]*cloud.Recommendation{}}
	pl.set(ada, "Ada", item(circadian.ItemMelatonin, now.Add(5*time.Minute), "UTC"))
	n := &cloud.Notifier{Plans: pl, Store: store, Pusher: sender, Now: func() time.Time { return now }}
	if res := n.RunOnce(ctx); res.Failed != 1 || res.Sent != 0 {
		t.Errorf("first run %+v, want 1 failed", res)
	}
	if res := n.RunOnce(ctx); res.Sent != 1 {
		t.Errorf("second run %+v, want the push sent", res)
	}
	if res := n.RunOnce(ctx); res.Sent != 0 {
		t.Errorf("third run %+v, want nothing", res)
	}
}

// Keys are made once and read back; a public key that is not the private
// key's is refused.
func TestVAPIDKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "vapid.json")
	a, err := webpush.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := webpush.LoadOrCreate(path)
	if err != nil || a != b {
		t.Fatalf("read back %+v, %v; want %+v", b, err, a)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(a.Public); len(raw) != 65 || raw[0] != 4 {
		t.Errorf("public key of %d bytes; want an uncompressed P-256 point", len(raw))
	}
	if k, err := webpush.ParseKeys([]byte(a.Private + "\n")); err != nil || k != a {
		t.Errorf("the private key alone: %+v, %v", k, err)
	}
	c, _ := webpush.GenerateKeys()
	mixed, _ := json.Marshal(webpush.Keys{Public: c.Public, Private: a.Private})
	if _, err := webpush.ParseKeys(mixed); err == nil {
		t.Error("a mismatched pair was taken")
	}
}
