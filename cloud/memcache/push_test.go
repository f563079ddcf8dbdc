package memcache_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
)

// The push store keeps subscriptions, settings and the sent-log across a
// reopen of its file; a claim holds until it expires or is released.
func TestPushStoreSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "push.json")
	now := time.Date(2026, 12, 21, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p, err := memcache.OpenPush(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	family, ada := uuid.New(), uuid.New()
	s := cloud.PushSubscription{Endpoint: "https://push.example/a", Members: []uuid.UUID{ada}}
	if err := p.PutSubscription(ctx, family, s); err != nil {
		t.Fatal(err)
	}
	p.PutNotifyPrefs(ctx, family, ada, cloud.NotifyPrefs{Enabled: true})
	if ok, _ := p.ClaimPush(ctx, "k", time.Hour); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := p.ClaimPush(ctx, "k", time.Hour); ok {
		t.Fatal("second claim taken")
	}

	q, err := memcache.OpenPush(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	if subs, _ := q.Subscriptions(ctx, family); len(subs) != 1 || subs[0].Endpoint != s.Endpoint {
		t.Fatalf("reopened: %+v", subs)
	}
	if prefs, _ := q.NotifyPrefs(ctx, family); !prefs[ada].Enabled {
		t.Fatalf("reopened: %+v", prefs)
	}
	if ok, _ := q.ClaimPush(ctx, "k", time.Hour); ok {
		t.Fatal("reopened: the claim was lost")
	}
	now = now.Add(time.Hour)
	if ok, _ := q.ClaimPush(ctx, "k", time.Hour); !ok {
		t.Fatal("an expired claim still holds")
	}
	q.ReleasePush(ctx, "k")
	if ok, _ := q.ClaimPush(ctx, "k", time.Hour); !ok {
		t.Fatal("a released claim still holds")
	}
	q.DeleteSubscription(ctx, family, s.ID())
	if subs, _ := q.Subscriptions(ctx, family); len(subs) != 0 {
		t.Fatalf("after delete: %+v", subs)
	}
}
