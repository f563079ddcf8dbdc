package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/cloud"
)

// The cache is also the cloud's push store (cloud.PushStore), in keys
// without a TTL:
//
//	zoner:push:subs:<family>   hash: subscription ID -> subscription JSON
//	zoner:push:prefs:<family>  hash: member -> settings JSON
//	zoner:push:sent:...        string, SET NX PX: the sent-log (cloud.PushSentKey)
//
// The server must not evict keys without a TTL: run it with
// maxmemory-policy noeviction or volatile-* (recommendations have TTLs).
var _ cloud.PushStore = (*Cache)(nil)

func subsKey(family uuid.UUID) string  { return "zoner:push:subs:" + family.String() }
func prefsKey(family uuid.UUID) string { return "zoner:push:prefs:" + family.String() }

// PutSubscription stores a family's subscription under its ID.
func (c *Cache) PutSubscription(ctx context.Context, family uuid.UUID, s cloud.PushSubscription) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("redis: put subscription: %w", err)
	}
	if err := c.rdb.HSet(ctx, subsKey(family), s.ID(), b).Err(); err != nil {
		return fmt.Errorf("redis: put subscription: %w", err)
	}
	return nil
}

// DeleteSubscription removes a family's subscription by ID.
func (c *Cache) DeleteSubscription(ctx context.Context, family uuid.UUID, id string) error {
	if err := c.rdb.HDel(ctx, subsKey(family), id).Err(); err != nil {
		return fmt.Errorf("redis: delete subscription: %w", err)
	}
	return nil
}

// Subscriptions lists a family's subscriptions, ordered by ID. One that
// does not decode is skipped.
func (c *Cache) Subscriptions(ctx context.Context, family uuid.UUID) ([]cloud.PushSubscription, error) {
	m, err := c.rdb.HGetAll(ctx, subsKey(family)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: subscriptions: %w", err)
	}
	out := []cloud.PushSubscription{}
	for id, v := range m {
		var s cloud.PushSubscription
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			c.log.Warn("redis: a push subscription does not decode", "family", family, "id", id, "err", err)
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b cloud.PushSubscription) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}

// PutNotifyPrefs stores a member's settings.
func (c *Cache) PutNotifyPrefs(ctx context.Context, family, member uuid.UUID, n cloud.NotifyPrefs) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("redis: put notification settings: %w", err)
	}
	if err := c.rdb.HSet(ctx, prefsKey(family), member.String(), b).Err(); err != nil {
		return fmt.Errorf("redis: put notification settings: %w", err)
	}
	return nil
}

// NotifyPrefs returns a family's settings by member.
func (c *Cache) NotifyPrefs(ctx context.Context, family uuid.UUID) (map[uuid.UUID]cloud.NotifyPrefs, error) {
	m, err := c.rdb.HGetAll(ctx, prefsKey(family)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: notification settings: %w", err)
	}
	out := map[uuid.UUID]cloud.NotifyPrefs{}
	for k, v := range m {
		id, err := uuid.Parse(k)
		var n cloud.NotifyPrefs
		if err == nil {
			err = json.Unmarshal([]byte(v), &n)
		}
		if err != nil {
			c.log.Warn("redis: notification settings do not decode", "family", family, "member", k, "err", err)
			continue
		}
		out[id] = n
	}
	return out, nil
}

// ClaimPush is SET key 1 NX PX ttl: true when this call set it.
func (c *Cache) ClaimPush(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	px, err := millis(ttl)
	if err != nil {
		return false, fmt.Errorf("redis: claim push: %w", err)
	}
	err = c.rdb.SetArgs(ctx, key, "1", goredis.SetArgs{Mode: "NX", TTL: time.Duration(px) * time.Millisecond}).Err()
	switch {
	case errors.Is(err, goredis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redis: claim push: %w", err)
	}
	return true, nil
}

// ReleasePush deletes key.
func (c *Cache) ReleasePush(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("redis: release push: %w", err)
	}
	return nil
}
