//go:build integration

package redis_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// The session store on a real server: a code is taken once (of many
// concurrent takers, one wins) and expires; only its hash is a key; a
// refresh rotates only from the current hash; revocation and expiry end
// a session; a family's list drops what has ended.
func TestSessions(t *testing.T) {
	c := mustOpen(t, 0)
	s := c.Sessions()
	admin := mustAdmin(t, 0)
	ctx := t.Context()
	family := uuid.New()
	t.Cleanup(func() {
		keys, _ := admin.Keys(context.Background(), "zoner:*"+family.String()+"*").Result()
		if len(keys) > 0 {
			admin.Del(context.Background(), keys...)
		}
	})
	a := &cloud.Auth{Store: s}

	code, _, err := a.NewSignInCode(ctx, cloud.SignInGrant{Family: family, Role: "member", Member: uuid.New(), Device: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := admin.Exists(ctx, "zoner:signin:"+code).Result(); n != 0 {
		t.Fatal("the code itself is a key")
	}
	if ttl, _ := admin.PTTL(ctx, "zoner:signin:"+cloud.HashSecret(code)).Result(); ttl <= 9*time.Minute || ttl > cloud.SignInCodeTTL {
		t.Fatalf("code TTL %v", ttl)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []cloud.Session
	var refresh string
	for range 8 {
		wg.Go(func() {
			sess, r, err := a.Exchange(ctx, code)
			if err == nil {
				mu.Lock()
				won, refresh = append(won, sess), r
				mu.Unlock()
			} else if cloud.CodeOf(err) != cloud.CodeUnauthorized {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d exchanges of one code succeeded", len(won))
	}
	sess := won[0]
	if ttl, _ := admin.PTTL(ctx, "zoner:session:"+sess.ID).Result(); ttl < cloud.SessionLifetime-time.Minute {
		t.Fatalf("session TTL %v", ttl)
	}
	if err := s.PutCode(ctx, "short-"+family.String(), cloud.SignInGrant{Family: family}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	if _, err := s.TakeCode(ctx, "short-"+family.String()); !errors.Is(err, cloud.ErrNoCode) {
		t.Fatalf("expired code: %v", err)
	}

	// Rotation, then reuse of the spent token.
	if alive, err := s.SessionAlive(ctx, sess.ID); !alive || err != nil {
		t.Fatalf("alive: %v %v", alive, err)
	}
	_, r2, err := a.Refresh(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Session(ctx, sess.ID)
	if got.RefreshHash != cloud.HashSecret(r2[len(sess.ID)+1:]) || !got.LastUsed.After(sess.LastUsed) && !got.LastUsed.Equal(sess.LastUsed) {
		t.Fatalf("after rotation: %+v", got)
	}
	if err := s.RotateRefresh(ctx, sess.ID, cloud.HashSecret("stale"), got); !errors.Is(err, cloud.ErrRefreshReused) {
		t.Fatalf("rotate from a stale hash: %v", err)
	}
	if _, _, err := a.Refresh(ctx, refresh); cloud.CodeOf(err) != cloud.CodeUnauthorized {
		t.Fatalf("reuse: %v", err)
	}
	if alive, _ := s.SessionAlive(ctx, sess.ID); alive {
		t.Fatal("the session outlived the reuse of its refresh token")
	}
	if err := s.RotateRefresh(ctx, sess.ID, got.RefreshHash, got); !errors.Is(err, cloud.ErrNoSession) {
		t.Fatalf("rotate a revoked session: %v", err)
	}

	// The family's list.
	now := time.Now().UTC()
	for i, exp := range []time.Duration{time.Hour, time.Hour, 100 * time.Millisecond} {
		x := cloud.Session{ID: uuid.NewString(), Family: family, Role: "guardian", Created: now, LastUsed: now.Add(time.Duration(i) * time.Second), Expires: now.Add(exp), RefreshHash: "h"}
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	list, err := s.FamilySessions(ctx, family)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	if n, _ := admin.SCard(ctx, "zoner:family-sessions:"+family.String()).Result(); n != 2 {
		t.Errorf("the family's set holds %d ids after listing, want 2", n)
	}
	if err := s.RevokeSession(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, list[0].ID); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	if list, _ := s.FamilySessions(ctx, family); len(list) != 1 {
		t.Fatalf("after revoking: %d", len(list))
	}
}

// TestSessionCheckCost measures what the API's check of a session costs
// on a cache miss, one EXISTS, beside a recommendation's GET of 1 KiB:
// p50 and p99 of each, one request at a time.
func TestSessionCheckCost(t *testing.T) {
	c := mustOpen(t, 0)
	s := c.Sessions()
	ctx := t.Context()
	key := prefix(t) + "rec"
	if err := c.Set(ctx, key, make([]byte, 1024), time.Hour); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sess := cloud.Session{ID: uuid.NewString(), Family: uuid.New(), Role: "member", Created: now, LastUsed: now, Expires: now.Add(time.Hour), RefreshHash: "h"}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	defer s.RevokeSession(context.Background(), sess.ID)
	const n = 5000
	measure := func(f func() error) (p50, p99 time.Duration) {
		ds := make([]time.Duration, n)
		for i := range ds {
			start := time.Now()
			if err := f(); err != nil {
				t.Fatal(err)
			}
			ds[i] = time.Since(start)
		}
		slices.Sort(ds)
		return ds[n/2], ds[n*99/100]
	}
	get50, get99 := measure(func() error { _, err := c.Get(ctx, key); return err })
	ex50, ex99 := measure(func() error { _, err := s.SessionAlive(ctx, sess.ID); return err })
	both50, both99 := measure(func() error {
		if _, err := s.SessionAlive(ctx, sess.ID); err != nil {
			return err
		}
		_, err := c.Get(ctx, key)
		return err
	})
	t.Logf("GET 1 KiB: p50 %v p99 %v; session check (EXISTS): p50 %v p99 %v; check + GET (a read on a session-cache miss): p50 %v p99 %v",
		get50, get99, ex50, ex99, both50, both99)
}
