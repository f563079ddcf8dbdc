package cloud

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Quiet hours are read in the member's zone, and may span midnight.
func TestQuietHours(t *testing.T) {
	tokyo := zoneOf("Asia/Tokyo")
	at := func(h, m int) time.Time { return time.Date(2026, 12, 21, h, m, 0, 0, tokyo) }
	night := NotifyPrefs{QuietStart: "22:00", QuietEnd: "07:00"}
	noon := NotifyPrefs{QuietStart: "12:00", QuietEnd: "13:30"}
	for _, c := range []struct {
		p    NotifyPrefs
		t    time.Time
		want bool
	}{
		{night, at(21, 59), false}, {night, at(22, 0), true}, {night, at(3, 0), true}, {night, at(7, 0), false},
		{noon, at(12, 30), true}, {noon, at(13, 30), false}, {NotifyPrefs{}, at(3, 0), false},
		{NotifyPrefs{QuietStart: "08:00", QuietEnd: "08:00"}, at(8, 0), false},
	} {
		if got := c.p.Quiet(c.t.UTC(), tokyo); got != c.want {
			t.Errorf("%s–%s at %s: quiet %t, want %t", c.p.QuietStart, c.p.QuietEnd, c.t.Format("15:04"), got, c.want)
		}
	}
}

// A subscription is checked before it is stored.
func TestSubscriptionChecks(t *testing.T) {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	good := PushKeys{P256dh: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), Auth: base64.URLEncoding.EncodeToString(make([]byte, 16))}
	m := uuid.New()
	p := &PushAPI{}
	for name, s := range map[string]PushSubscription{
		"http":      {Endpoint: "http://push.example/a", Keys: good, Members: []uuid.UUID{m}},
		"relative":  {Endpoint: "/a", Keys: good, Members: []uuid.UUID{m}},
		"bad key":   {Endpoint: "https://push.example/a", Keys: PushKeys{P256dh: "AAAA", Auth: good.Auth}, Members: []uuid.UUID{m}},
		"bad auth":  {Endpoint: "https://push.example/a", Keys: PushKeys{P256dh: good.P256dh, Auth: "AAAA"}, Members: []uuid.UUID{m}},
		"nobody":    {Endpoint: "https://push.example/a", Keys: good},
		"nil":       {Endpoint: "https://push.example/a", Keys: good, Members: []uuid.UUID{uuid.Nil}},
		"user info": {Endpoint: "https://u:p@push.example/a", Keys: good, Members: []uuid.UUID{m}},
	} {
		if err := p.checkSubscription(&s); CodeOf(err) != CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	s := PushSubscription{Endpoint: "https://push.example/a", Keys: good, Members: []uuid.UUID{m, m}}
	if err := p.checkSubscription(&s); err != nil || len(s.Members) != 1 {
		t.Errorf("good: %v, members %v", err, s.Members)
	}
}
