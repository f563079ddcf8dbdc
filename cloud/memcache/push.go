package memcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// Push is the cloud's push store on a single machine (cloud.PushStore):
// subscriptions, notification settings and the sent-log in memory, saved
// whole to a JSON file (when it has a path) after every change, so that
// `zoner-cloud all` keeps them, and sends no reminder twice, across
// restarts. It is safe for concurrent use within one process; processes
// must not share the file.
type Push struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	state pushState
}

var _ cloud.PushStore = (*Push)(nil)

type pushState struct {
	Subs  map[uuid.UUID]map[string]cloud.PushSubscription `json:"subscriptions"`
	Prefs map[uuid.UUID]map[uuid.UUID]cloud.NotifyPrefs   `json:"prefs"`
	Sent  map[string]time.Time                            `json:"sent"` // key: expiry
}

// OpenPush opens the store saved in path, or an empty one when the file
// does not exist yet; an empty path keeps everything in memory only. now
// nil is time.Now.
func OpenPush(path string, now func() time.Time) (*Push, error) {
	if now == nil {
		now = time.Now
	}
	p := &Push{path: path, now: now, state: pushState{
		Subs:  map[uuid.UUID]map[string]cloud.PushSubscription{},
		Prefs: map[uuid.UUID]map[uuid.UUID]cloud.NotifyPrefs{},
		Sent:  map[string]time.Time{},
	}}
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memcache: open push store: %w", err)
	}
	if err := json.Unmarshal(b, &p.state); err != nil {
		return nil, fmt.Errorf("memcache: push store %s: %w", path, err)
	}
	if p.state.Subs == nil {
		p.state.Subs = map[uuid.UUID]map[string]cloud.PushSubscription{}
	}
	if p.state.Prefs == nil {
		p.state.Prefs = map[uuid.UUID]map[uuid.UUID]cloud.NotifyPrefs{}
	}
	if p.state.Sent == nil {
		p.state.Sent = map[string]time.Time{}
	}
	return p, nil
}

// save writes the state to the file: a temporary file renamed over it.
// p.mu is held.
func (p *Push) save() error {
	if p.path == "" {
		return nil
	}
	b, err := json.Marshal(p.state)
	if err != nil {
		return fmt.Errorf("memcache: save push store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return fmt.Errorf("memcache: save push store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), ".push-*")
	if err != nil {
		return fmt.Errorf("memcache: save push store: %w", err)
	}
	_, err = tmp.Write(b)
	if serr := tmp.Sync(); err == nil {
		err = serr
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("memcache: save push store: %w", err)
	}
	return nil
}

// PutSubscription stores a family's subscription under its ID.
func (p *Push) PutSubscription(ctx context.Context, family uuid.UUID, s cloud.PushSubscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state.Subs[family] == nil {
		p.state.Subs[family] = map[string]cloud.PushSubscription{}
	}
	s.Members = slices.Clone(s.Members)
	p.state.Subs[family][s.ID()] = s
	return p.save()
}

// DeleteSubscription removes a family's subscription by ID.
func (p *Push) DeleteSubscription(ctx context.Context, family uuid.UUID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.state.Subs[family][id]; !ok {
		return nil
	}
	delete(p.state.Subs[family], id)
	if len(p.state.Subs[family]) == 0 {
		delete(p.state.Subs, family)
	}
	return p.save()
}

// Subscriptions lists a family's subscriptions, ordered by ID.
func (p *Push) Subscriptions(ctx context.Context, family uuid.UUID) ([]cloud.PushSubscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []cloud.PushSubscription{}
	for _, s := range p.state.Subs[family] {
		s.Members = slices.Clone(s.Members)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b cloud.PushSubscription) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}

// PutNotifyPrefs stores a member's settings.
func (p *Push) PutNotifyPrefs(ctx context.Context, family, member uuid.UUID, n cloud.NotifyPrefs) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state.Prefs[family] == nil {
		p.state.Prefs[family] = map[uuid.UUID]cloud.NotifyPrefs{}
	}
	p.state.Prefs[family][member] = n
	return p.save()
}

// NotifyPrefs returns a family's settings by member.
func (p *Push) NotifyPrefs(ctx context.Context, family uuid.UUID) (map[uuid.UUID]cloud.NotifyPrefs, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[uuid.UUID]cloud.NotifyPrefs{}
	for m, n := range p.state.Prefs[family] {
		out[m] = n
	}
	return out, nil
}

// ClaimPush records key in the sent-log for ttl, unless it is there and
// has not expired; it drops the expired keys meanwhile.
func (p *Push) ClaimPush(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for k, exp := range p.state.Sent {
		if !now.Before(exp) {
			delete(p.state.Sent, k)
		}
	}
	if _, ok := p.state.Sent[key]; ok {
		return false, nil
	}
	p.state.Sent[key] = now.Add(ttl)
	if err := p.save(); err != nil {
		delete(p.state.Sent, key)
		return false, err
	}
	return true, nil
}

// ReleasePush removes key from the sent-log.
func (p *Push) ReleasePush(ctx context.Context, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.state.Sent[key]; !ok {
		return nil
	}
	delete(p.state.Sent, key)
	return p.save()
}
