package cloud

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
)

// Web Push reminders: a device subscribes (its browser's PushSubscription
// and the members it wants reminders for), a member opts in with quiet
// hours, and the Notifier, running in the recommender, sends a push a few
// minutes before each item of the member's current recommendation.

// PushSubscription is one device's Web Push subscription: where its push
// service takes messages, the keys that encrypt them (RFC 8291), and the
// members of the family it wants reminders for.
type PushSubscription struct {
	Endpoint string   `json:"endpoint"`
	Keys     PushKeys `json:"keys"`
	// Members are the members whose reminders the device shows.
	Members []uuid.UUID `json:"members"`
	// Created is when the cloud took the subscription; Expires is the
	// browser's expirationTime, when it gave one.
	Created time.Time  `json:"created_at"`
	Expires *time.Time `json:"expires_at,omitempty"`
}

// PushKeys are a subscription's keys as the browser gives them
// (PushSubscription.toJSON): base64url, padded or not.
type PushKeys struct {
	// P256dh is the device's ECDH P-256 public key, uncompressed (65 bytes).
	P256dh string `json:"p256dh"`
	// Auth is the 16-byte authentication secret.
	Auth string `json:"auth"`
}

// ID names a subscription by its endpoint: the first 16 bytes of the
// endpoint's SHA-256, in hex. A device that subscribes again with the same
// endpoint replaces its subscription.
func (s PushSubscription) ID() string { return PushSubscriptionID(s.Endpoint) }

// PushSubscriptionID is the ID of the subscription with this endpoint.
func PushSubscriptionID(endpoint string) string {
	h := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(h[:16])
}

// NotifyPrefs are one member's notification settings. Nothing is sent for
// a member who has not opted in. Quiet hours are local times ("22:00") in
// the zone the member is in when a reminder would go out; a start after
// the end spans midnight; equal or empty means none.
type NotifyPrefs struct {
	Enabled    bool      `json:"enabled"`
	QuietStart string    `json:"quiet_start,omitempty"`
	QuietEnd   string    `json:"quiet_end,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// PushStore keeps subscriptions, notification settings and the sent-log.
// Redis in production, an in-process store (saved to a file) on one
// machine.
type PushStore interface {
	// PutSubscription stores a family's subscription under its ID,
	// replacing one with the same endpoint.
	PutSubscription(ctx context.Context, family uuid.UUID, s PushSubscription) error
	// DeleteSubscription removes one; removing one that is not there is
	// no error.
	DeleteSubscription(ctx context.Context, family uuid.UUID, id string) error
	// Subscriptions lists a family's subscriptions.
	Subscriptions(ctx context.Context, family uuid.UUID) ([]PushSubscription, error)
	// PutNotifyPrefs stores a member's settings.
	PutNotifyPrefs(ctx context.Context, family, member uuid.UUID, p NotifyPrefs) error
	// NotifyPrefs returns a family's settings by member.
	NotifyPrefs(ctx context.Context, family uuid.UUID) (map[uuid.UUID]NotifyPrefs, error)
	// ClaimPush records key in the sent-log for ttl and reports whether
	// this call made it (false: it was there). It is atomic across
	// processes sharing the store.
	ClaimPush(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// ReleasePush removes key from the sent-log, so a push that failed is
	// tried again.
	ReleasePush(ctx context.Context, key string) error
}

// PushMessage is one push: the payload (encrypted by the Pusher) and the
// Web Push headers (RFC 8030): how long the push service keeps it, its
// urgency, and its topic, under which a newer message replaces one not
// yet delivered.
type PushMessage struct {
	Payload []byte
	TTL     time.Duration
	Urgency string
	Topic   string
}

// Pusher sends a push to a subscription's push service.
type Pusher interface {
	// Push delivers m. It returns an error wrapping ErrPushGone when the
	// push service says the subscription is no more (404 or 410).
	Push(ctx context.Context, s PushSubscription, m PushMessage) error
}

// ErrPushGone is a subscription its push service no longer has.
var ErrPushGone = errors.New("push subscription expired or unsubscribed")

// Limits of the push API.
const (
	// MaxPushSubscriptions is how many devices a family may subscribe.
	MaxPushSubscriptions = 50
	// MaxPushMembers is how many members one subscription may name.
	MaxPushMembers = 32
	maxEndpointLen = 2048
)

// PushAPI is what the HTTP API's push routes use: the VAPID public key,
// and the family's subscriptions and settings in the store.
type PushAPI struct {
	Store PushStore
	// PublicKey is the VAPID public key, uncompressed P-256 in base64url
	// without padding: the applicationServerKey browsers subscribe with.
	PublicKey string
	// AllowHTTP accepts http endpoints (tests); push services are https.
	AllowHTTP bool
	Now       func() time.Time
	Logger    *slog.Logger // nil logs nothing
}

// VAPIDPublicKey returns the key browsers subscribe with.
func (p *PushAPI) VAPIDPublicKey() string { return p.PublicKey }

func (p *PushAPI) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// SubscribePush checks and stores a device's subscription for family,
// answering its ID.
func (p *PushAPI) SubscribePush(ctx context.Context, family uuid.UUID, s PushSubscription) (string, error) {
	if err := p.checkSubscription(&s); err != nil {
		return "", err
	}
	subs, err := p.Store.Subscriptions(ctx, family)
	if err != nil {
		return "", p.unavailable(err)
	}
	if len(subs) >= MaxPushSubscriptions && !slices.ContainsFunc(subs, func(x PushSubscription) bool { return x.ID() == s.ID() }) {
		return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("this family has %d devices subscribed, the most it may; unsubscribe one first", len(subs))}
	}
	s.Created = p.now().UTC().Truncate(time.Second)
	if err := p.Store.PutSubscription(ctx, family, s); err != nil {
		return "", p.unavailable(err)
	}
	return s.ID(), nil
}

// UnsubscribePush removes the subscription with this endpoint.
func (p *PushAPI) UnsubscribePush(ctx context.Context, family uuid.UUID, endpoint string) error {
	if endpoint == "" {
		return &Error{Code: CodeInvalid, Message: "endpoint: give the subscription's endpoint"}
	}
	if err := p.Store.DeleteSubscription(ctx, family, PushSubscriptionID(endpoint)); err != nil {
		return p.unavailable(err)
	}
	return nil
}

// SetNotifyPrefs checks and stores a member's settings, answering them as
// stored.
func (p *PushAPI) SetNotifyPrefs(ctx context.Context, family, member uuid.UUID, n NotifyPrefs) (NotifyPrefs, error) {
	for _, x := range []struct{ name, v string }{{"quiet_start", n.QuietStart}, {"quiet_end", n.QuietEnd}} {
		if _, ok := clockMinutes(x.v); !ok && x.v != "" {
			return n, &Error{Code: CodeInvalid, Message: x.name + ": a local time like 22:00, not " + strconv.Quote(x.v)}
		}
	}
	if (n.QuietStart == "") != (n.QuietEnd == "") {
		return n, &Error{Code: CodeInvalid, Message: "quiet_start and quiet_end: give both, or neither"}
	}
	n.UpdatedAt = p.now().UTC().Truncate(time.Second)
	if err := p.Store.PutNotifyPrefs(ctx, family, member, n); err != nil {
		return n, p.unavailable(err)
	}
	return n, nil
}

// unavailable logs a store failure and answers with an error that tells
// the client to retry, without the store's details.
func (p *PushAPI) unavailable(err error) error {
	if p.Logger != nil {
		p.Logger.Warn("push: store", "err", err)
	}
	return &Error{Code: CodeUnavailable, Message: "the cloud cannot reach its push store now; try again shortly"}
}

// checkSubscription says what is wrong with a subscription, if anything.
func (p *PushAPI) checkSubscription(s *PushSubscription) error {
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "" || len(s.Endpoint) > maxEndpointLen:
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("endpoint: the push service's URL (up to %d characters)", maxEndpointLen)}
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		return &Error{Code: CodeInvalid, Message: "endpoint: not an absolute URL"}
	case u.Scheme != "https" && !(p.AllowHTTP && u.Scheme == "http"):
		return &Error{Code: CodeInvalid, Message: "endpoint: push services are reached over https"}
	}
	pub, err := decodeB64(s.Keys.P256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pub)
	}
	if err != nil {
		return &Error{Code: CodeInvalid, Message: "keys.p256dh: an uncompressed P-256 public key in base64url"}
	}
	if auth, err := decodeB64(s.Keys.Auth); err != nil || len(auth) != 16 {
		return &Error{Code: CodeInvalid, Message: "keys.auth: 16 bytes in base64url"}
	}
	if len(s.Members) == 0 || len(s.Members) > MaxPushMembers {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("members: the members this device wants reminders for, 1 to %d", MaxPushMembers)}
	}
	seen := map[uuid.UUID]bool{}
	var members []uuid.UUID
	for _, m := range s.Members {
		if m == uuid.Nil {
			return &Error{Code: CodeInvalid, Message: "members: not the nil UUID"}
		}
		if !seen[m] {
			seen[m] = true
			members = append(members, m)
		}
	}
	s.Members = members
	return nil
}

// decodeB64 reads base64url, padded or not (browsers differ), and plain
// base64.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// Quiet reports whether t falls in the quiet hours, read in loc.
func (n NotifyPrefs) Quiet(t time.Time, loc *time.Location) bool {
	from, ok1 := clockMinutes(n.QuietStart)
	to, ok2 := clockMinutes(n.QuietEnd)
	if !ok1 || !ok2 || from == to {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if from < to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// PlanSource is where the Notifier finds plans: the families the process
// keeps active and each member's current recommendation.
type PlanSource interface {
	ActiveFamilies() []uuid.UUID
	Recommendation(ctx context.Context, family, member uuid.UUID) ([]byte, error)
}

// ActiveFamilies lists the families this recommender keeps in memory.
func (r *Recommender) ActiveFamilies() []uuid.UUID {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uuid.UUID, 0, len(r.families))
	for id := range r.families {
		out = append(out, id)
	}
	return out
}

// Notifier defaults.
const (
	DefaultNotifyLead  = 10 * time.Minute
	DefaultNotifyEvery = 30 * time.Second
)

// notifyKinds are the items a reminder is sent for, with how it starts.
var notifyKinds = map[circadian.ItemKind]string{
	circadian.ItemNap:       "Nap",
	circadian.ItemSleep:     "Bedtime",
	circadian.ItemLightSeek: "Light",
	circadian.ItemMeal:      "Meal",
	circadian.ItemMelatonin: "Melatonin",
}

// Notifier sends Web Push reminders a few minutes (Lead) before each
// reminder-worthy item (naps, bedtime, light windows, meals and feeds,
// melatonin) of an opted-in member's current recommendation, to every
// device that asked for the member's reminders.
//
// Every Every it reads the current plans: an item that moved or went away
// since a run is not notified, because only the plan of the moment is
// read. Each push is claimed in the store's sent-log first (key: device,
// member, item kind and start), so it goes out once however many
// replicas and restarts; a failed push is released to be tried at the
// next run. Pushes carry a Topic of the member, kind and day, so a moved
// item's push replaces an undelivered one for the same item. Nothing is
// sent in the member's quiet hours; subscriptions the push service has
// dropped (404, 410) are removed.
type Notifier struct {
	Plans  PlanSource
	Store  PushStore
	Pusher Pusher
	Lead   time.Duration
	Every  time.Duration
	Now    func() time.Time
	Logger *slog.Logger

	once sync.Once
}

func (n *Notifier) init() {
	n.once.Do(func() {
		n.Lead = orDefault(n.Lead, DefaultNotifyLead)
		n.Every = orDefault(n.Every, DefaultNotifyEvery)
		if n.Now == nil {
			n.Now = time.Now
		}
		if n.Logger == nil {
			n.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Run sends reminders every Every until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	n.init()
	t := time.NewTicker(n.Every)
	defer t.Stop()
	for {
		n.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// NotifyResult counts what a run did.
type NotifyResult struct {
	Sent, Failed, Quiet, Removed int
}

// RunOnce sends the reminders due now for every active family.
func (n *Notifier) RunOnce(ctx context.Context) NotifyResult {
	n.init()
	var res NotifyResult
	for _, f := range n.Plans.ActiveFamilies() {
		if ctx.Err() != nil {
			break
		}
		if err := n.family(ctx, f, &res); err != nil {
			n.Logger.Warn("notify: family", "family", f, "err", err)
		}
	}
	return res
}

func (n *Notifier) family(ctx context.Context, family uuid.UUID, res *NotifyResult) error {
	subs, err := n.Store.Subscriptions(ctx, family)
	if err != nil || len(subs) == 0 {
		return err
	}
	prefs, err := n.Store.NotifyPrefs(ctx, family)
	if err != nil {
		return err
	}
	now := n.Now()
	plans := map[uuid.UUID]*Recommendation{}
	for _, s := range subs {
		gone := false
		for _, m := range s.Members {
			p, ok := prefs[m]
			if !ok || !p.Enabled || gone {
				continue
			}
			rec, seen := plans[m]
			if !seen {
				b, err := n.Plans.Recommendation(ctx, family, m)
				if err == nil {
					rec = &Recommendation{}
					if json.Unmarshal(b, rec) != nil {
						rec = nil
					}
				} else if CodeOf(err) != CodeNotFound {
					n.Logger.Warn("notify: read plan", "family", family, "member", m, "err", err)
				}
				plans[m] = rec
			}
			if rec == nil {
				continue
			}
			for _, it := range slices.Concat(rec.Now, rec.Next) {
				if _, ok := notifyKinds[it.Kind]; !ok || it.InFlight || now.Before(it.Start.Add(-n.Lead)) || !now.Before(it.Start) {
					continue
				}
				if p.Quiet(now, zoneOf(it.TZ)) {
					res.Quiet++
					continue
				}
				switch err := n.push(ctx, family, s, rec, it, now); {
				case err == nil:
					res.Sent++
				case errors.Is(err, errClaimed):
				case errors.Is(err, ErrPushGone):
					res.Removed++
					gone = true
					if err := n.Store.DeleteSubscription(ctx, family, s.ID()); err != nil {
						n.Logger.Warn("notify: remove expired subscription", "family", family, "err", err)
					}
				default:
					res.Failed++
					n.Logger.Warn("notify: push", "family", family, "member", m, "err", err)
				}
				if gone {
					break
				}
			}
		}
	}
	return nil
}

var errClaimed = errors.New("already sent")

// push claims the item for the device in the sent-log and sends it.
func (n *Notifier) push(ctx context.Context, family uuid.UUID, s PushSubscription, rec *Recommendation, it circadian.Item, now time.Time) error {
	key := PushSentKey(family, rec.Member, s.ID(), it)
	ok, err := n.Store.ClaimPush(ctx, key, n.Lead+24*time.Hour)
	if err != nil {
		return err
	}
	if !ok {
		return errClaimed
	}
	msg, err := ReminderMessage(rec, it, now)
	if err == nil {
		err = n.Pusher.Push(ctx, s, msg)
	}
	if err != nil && !errors.Is(err, ErrPushGone) {
		if rerr := n.Store.ReleasePush(context.WithoutCancel(ctx), key); rerr != nil {
			n.Logger.Warn("notify: release a failed push", "err", rerr)
		}
	}
	return err
}

// PushSentKey is the sent-log key of an item's reminder to one device:
// the family, member, device, and the item's kind and start.
func PushSentKey(family, member uuid.UUID, device string, it circadian.Item) string {
	return "zoner:push:sent:" + family.String() + ":" + member.String() + ":" + device + ":" +
		string(it.Kind) + ":" + strconv.FormatInt(it.Start.Unix(), 10)
}

// PushTopic is the Topic of a reminder: the same for the same member, kind
// and UTC day, so a moved item's push replaces the one not yet delivered.
// 32 characters of base64url, as RFC 8030 allows.
func PushTopic(member uuid.UUID, it circadian.Item) string {
	h := sha256.Sum256([]byte(member.String() + "|" + string(it.Kind) + "|" + it.Start.UTC().Format(time.DateOnly)))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}

// Reminder is the JSON payload of a reminder push, which the web app's
// service worker shows.
type Reminder struct {
	Title  string             `json:"title"`
	Body   string             `json:"body"`
	Tag    string             `json:"tag"`
	Family uuid.UUID          `json:"family_id"`
	Member uuid.UUID          `json:"member_id"`
	Kind   circadian.ItemKind `json:"kind"`
	Start  time.Time          `json:"start"`
	End    time.Time          `json:"end"`
	URL    string             `json:"url"`
}

// ReminderMessage makes the push for an item of rec, sent at now.
func ReminderMessage(rec *Recommendation, it circadian.Item, now time.Time) (PushMessage, error) {
	loc := zoneOf(it.TZ)
	title := notifyKinds[it.Kind] + " at " + it.Start.In(loc).Format("15:04")
	if rec.Name != "" {
		title += " · " + rec.Name
	}
	topic := PushTopic(rec.Member, it)
	b, err := json.Marshal(Reminder{Title: title, Body: it.Text, Tag: topic, Family: rec.Family, Member: rec.Member,
		Kind: it.Kind, Start: it.Start.UTC(), End: it.End.UTC(), URL: "/"})
	if err != nil {
		return PushMessage{}, err
	}
	// The push service keeps it until the item starts: a reminder that
	// arrives after is no use.
	ttl := max(it.Start.Sub(now).Truncate(time.Second), time.Minute)
	return PushMessage{Payload: b, TTL: ttl, Urgency: "high", Topic: topic}, nil
}
