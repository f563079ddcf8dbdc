package memcache

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// Sessions is a cloud.SessionStore in this process's memory, for a cloud
// on one machine: a restart signs everyone out. Expired codes and sessions
// are never returned and are dropped as they are met and at each new one.
type Sessions struct {
	now func() time.Time

	mu       sync.Mutex
	codes    map[string]codeEntry
	sessions map[string]cloud.Session
}

type codeEntry struct {
	grant   cloud.SignInGrant
	expires time.Time
}

var _ cloud.SessionStore = (*Sessions)(nil)

// NewSessions returns an empty store on the clock now (nil: time.Now).
func NewSessions(now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{now: now, codes: map[string]codeEntry{}, sessions: map[string]cloud.Session{}}
}

// PutCode stores a code's grant for ttl.
func (m *Sessions) PutCode(ctx context.Context, hash string, g cloud.SignInGrant, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for h, e := range m.codes {
		if !now.Before(e.expires) {
			delete(m.codes, h)
		}
	}
	m.codes[hash] = codeEntry{grant: g, expires: now.Add(ttl)}
	return nil
}

// TakeCode returns and deletes a code's grant.
func (m *Sessions) TakeCode(ctx context.Context, hash string) (cloud.SignInGrant, error) {
	if err := ctx.Err(); err != nil {
		return cloud.SignInGrant{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.codes[hash]
	delete(m.codes, hash)
	if !ok || !m.now().Before(e.expires) {
		return cloud.SignInGrant{}, cloud.ErrNoCode
	}
	return e.grant, nil
}

// CreateSession stores a new session.
func (m *Sessions) CreateSession(ctx context.Context, s cloud.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id, x := range m.sessions {
		if !now.Before(x.Expires) {
			delete(m.sessions, id)
		}
	}
	m.sessions[s.ID] = s
	return nil
}

// live returns the session id names if it has not expired; m.mu is held.
func (m *Sessions) live(id string) (cloud.Session, bool) {
	s, ok := m.sessions[id]
	if !ok {
		return s, false
	}
	if !m.now().Before(s.Expires) {
		delete(m.sessions, id)
		return s, false
	}
	return s, true
}

// Session returns a live session.
func (m *Sessions) Session(ctx context.Context, id string) (cloud.Session, error) {
	if err := ctx.Err(); err != nil {
		return cloud.Session{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.live(id)
	if !ok {
		return cloud.Session{}, cloud.ErrNoSession
	}
	return s, nil
}

// SessionAlive reports whether id names a live session.
func (m *Sessions) SessionAlive(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.live(id)
	return ok, nil
}

// RotateRefresh replaces the refresh hash if it is still old.
func (m *Sessions) RotateRefresh(ctx context.Context, id, old string, next cloud.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.live(id)
	if !ok {
		return cloud.ErrNoSession
	}
	if s.RefreshHash != old {
		return cloud.ErrRefreshReused
	}
	s.RefreshHash, s.LastUsed, s.Expires = next.RefreshHash, next.LastUsed, next.Expires
	m.sessions[id] = s
	return nil
}

// RevokeSession deletes a session.
func (m *Sessions) RevokeSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// FamilySessions lists a family's live sessions.
func (m *Sessions) FamilySessions(ctx context.Context, family uuid.UUID) ([]cloud.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cloud.Session
	for id, s := range m.sessions {
		if s.Family != family {
			continue
		}
		if _, ok := m.live(id); ok {
			out = append(out, s)
		}
	}
	return out, nil
}
