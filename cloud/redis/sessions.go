package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/cloud"
)

// Sessions is a cloud.SessionStore on the cache's Redis server, shared by
// every API replica. Keys:
//
//	zoner:signin:<code hash>       the grant, JSON, expiring with the code (taken with GETDEL)
//	zoner:session:<id>             a hash: data (the session, JSON) and refresh (its refresh hash),
//	                               expiring with the session (PEXPIREAT)
//	zoner:family-sessions:<family> a set of the family's session ids (stale ids are dropped on listing)
type Sessions struct {
	rdb *goredis.Client
}

var _ cloud.SessionStore = (*Sessions)(nil)

// Sessions returns the session store on c's server and connection pool.
func (c *Cache) Sessions() *Sessions { return &Sessions{rdb: c.rdb} }

func codeKey(hash string) string        { return "zoner:signin:" + hash }
func sessionKey(id string) string       { return "zoner:session:" + id }
func familyKey(family uuid.UUID) string { return "zoner:family-sessions:" + family.String() }

// PutCode stores a code's grant for ttl.
func (s *Sessions) PutCode(ctx context.Context, hash string, g cloud.SignInGrant, ttl time.Duration) error {
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("redis: put sign-in code: %w", err)
	}
	if _, err := millis(ttl); err != nil {
		return fmt.Errorf("redis: put sign-in code: %w", err)
	}
	if err := s.rdb.Set(ctx, codeKey(hash), b, ttl).Err(); err != nil {
		return fmt.Errorf("redis: put sign-in code: %w", err)
	}
	return nil
}

// TakeCode returns and deletes a code's grant (GETDEL: one taker wins).
func (s *Sessions) TakeCode(ctx context.Context, hash string) (cloud.SignInGrant, error) {
	b, err := s.rdb.GetDel(ctx, codeKey(hash)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return cloud.SignInGrant{}, cloud.ErrNoCode
	}
	if err != nil {
		return cloud.SignInGrant{}, fmt.Errorf("redis: take sign-in code: %w", err)
	}
	var g cloud.SignInGrant
	if err := json.Unmarshal(b, &g); err != nil {
		return cloud.SignInGrant{}, fmt.Errorf("redis: take sign-in code: %w", err)
	}
	return g, nil
}

// CreateSession stores a new session and lists it under its family.
func (s *Sessions) CreateSession(ctx context.Context, x cloud.Session) error {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, sessionKey(x.ID), "data", b, "refresh", x.RefreshHash)
		p.PExpireAt(ctx, sessionKey(x.ID), x.Expires)
		p.SAdd(ctx, familyKey(x.Family), x.ID)
		p.PExpireAt(ctx, familyKey(x.Family), x.Expires.Add(time.Hour))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	}
	return nil
}

// Session returns a live session.
func (s *Sessions) Session(ctx context.Context, id string) (cloud.Session, error) {
	b, err := s.rdb.HGet(ctx, sessionKey(id), "data").Bytes()
	if errors.Is(err, goredis.Nil) {
		return cloud.Session{}, cloud.ErrNoSession
	}
	if err != nil {
		return cloud.Session{}, fmt.Errorf("redis: session: %w", err)
	}
	var x cloud.Session
	if err := json.Unmarshal(b, &x); err != nil {
		return cloud.Session{}, fmt.Errorf("redis: session: %w", err)
	}
	return x, nil
}

// SessionAlive reports whether id names a live session: one EXISTS.
func (s *Sessions) SessionAlive(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, sessionKey(id)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: session alive: %w", err)
	}
	return n == 1, nil
}

// rotate swaps a session's refresh hash only if it is still the old one:
// 1 done, 0 the hash had changed, -1 no session.
var rotate = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'refresh')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
`)

// RotateRefresh replaces the refresh hash, last use and end if the hash is
// still old, in one script.
func (s *Sessions) RotateRefresh(ctx context.Context, id, old string, next cloud.Session) error {
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("redis: rotate refresh: %w", err)
	}
	n, err := rotate.Run(ctx, s.rdb, []string{sessionKey(id)}, old, next.RefreshHash, b, next.Expires.UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("redis: rotate refresh: %w", err)
	}
	switch n {
	case -1:
		return cloud.ErrNoSession
	case 0:
		return cloud.ErrRefreshReused
	}
	s.rdb.PExpireAt(ctx, familyKey(next.Family), next.Expires.Add(time.Hour))
	return nil
}

// RevokeSession deletes a session and its place in the family's list.
func (s *Sessions) RevokeSession(ctx context.Context, id string) error {
	x, err := s.Session(ctx, id)
	if errors.Is(err, cloud.ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, sessionKey(id))
		p.SRem(ctx, familyKey(x.Family), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: revoke session: %w", err)
	}
	return nil
}

// FamilySessions lists a family's live sessions, dropping from its list
// the ids of sessions that have expired.
func (s *Sessions) FamilySessions(ctx context.Context, family uuid.UUID) ([]cloud.Session, error) {
	ids, err := s.rdb.SMembers(ctx, familyKey(family)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: family sessions: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, sessionKey(id), "data")
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: family sessions: %w", err)
	}
	var out []cloud.Session
	var stale []any
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, goredis.Nil) {
			stale = append(stale, ids[i])
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redis: family sessions: %w", err)
		}
		var x cloud.Session
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, fmt.Errorf("redis: family sessions: %w", err)
		}
		out = append(out, x)
	}
	if len(stale) > 0 {
		s.rdb.SRem(ctx, familyKey(family), stale...)
	}
	return out, nil
}
