//go:build integration

package redis_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// The push store on a real server: subscriptions by endpoint, settings by
// member, and a sent-log that lets exactly one of many concurrent claims
// through, expires, and can be released.
func TestPushStore(t *testing.T) {
	c := mustOpen(t, 0)
	rdb := mustAdmin(t, 0)
	ctx := t.Context()
	family, ada := uuid.New(), uuid.New()
	t.Cleanup(func() { rdb.Del(ctx, "zoner:push:subs:"+family.String(), "zoner:push:prefs:"+family.String()) })

	s := cloud.PushSubscription{Endpoint: "https://push.example/a", Keys: cloud.PushKeys{P256dh: "k", Auth: "a"}, Members: []uuid.UUID{ada}}
	if err := c.PutSubscription(ctx, family, s); err != nil {
		t.Fatal(err)
	}
	s.Members = append(s.Members, uuid.New()) // the same endpoint again replaces it
	if err := c.PutSubscription(ctx, family, s); err != nil {
		t.Fatal(err)
	}
	subs, err := c.Subscriptions(ctx, family)
	if err != nil || len(subs) != 1 || len(subs[0].Members) != 2 || subs[0].ID() != s.ID() {
		t.Fatalf("subscriptions %+v, %v", subs, err)
	}
	if ttl := rdb.TTL(ctx, "zoner:push:subs:"+family.String()).Val(); ttl != -1 {
		t.Errorf("subscriptions have a TTL of %s; they must not expire", ttl)
	}
	if err := c.DeleteSubscription(ctx, family, s.ID()); err != nil {
		t.Fatal(err)
	}
	if subs, _ := c.Subscriptions(ctx, family); len(subs) != 0 {
		t.Errorf("after delete: %+v", subs)
	}

	if err := c.PutNotifyPrefs(ctx, family, ada, cloud.NotifyPrefs{Enabled: true, QuietStart: "22:00", QuietEnd: "07:00"}); err != nil {
		t.Fatal(err)
	}
	prefs, err := c.NotifyPrefs(ctx, family)
	if p := prefs[ada]; err != nil || !p.Enabled || p.QuietEnd != "07:00" {
		t.Fatalf("settings %+v, %v", prefs, err)
	}

	key := "zoner:push:sent:test:" + uuid.NewString()
	t.Cleanup(func() { rdb.Del(ctx, key) })
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			ok, err := c.ClaimPush(ctx, key, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d claims won, want 1", won.Load())
	}
	if err := c.ReleasePush(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.ClaimPush(ctx, key, 50*time.Millisecond); !ok {
		t.Fatal("a released key is not claimable")
	}
	time.Sleep(100 * time.Millisecond)
	if ok, _ := c.ClaimPush(ctx, key, time.Minute); !ok {
		t.Fatal("an expired claim still holds")
	}
}
