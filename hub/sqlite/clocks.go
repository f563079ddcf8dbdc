package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
)

// MemberLogs reads a member's logged facts that count and that window w
// holds, oldest first.
func (s *Store) MemberLogs(ctx context.Context, member uuid.UUID, w circadian.LogWindow) ([]circadian.Log, error) {
	logs, _, err := countingIn(ctx, s.db, member, w)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", member, err)
	}
	return logs, nil
}

// SaveClock keeps what calibration learned of a member's clock, replacing
// what it learned before.
func (s *Store) SaveClock(ctx context.Context, c hub.MemberClock) error {
	b, err := json.Marshal(c.Clock)
	if err != nil {
		return fmt.Errorf("save clock: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO member_clocks (member_id, clock, computed_at) VALUES (?, ?, ?)
		ON CONFLICT (member_id) DO UPDATE SET clock = excluded.clock, computed_at = excluded.computed_at`,
		c.MemberID.String(), string(b), c.ComputedAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("save clock of member %s: %w", c.MemberID, err)
	}
	return nil
}

// DeleteClock forgets what calibration learned of a member.
func (s *Store) DeleteClock(ctx context.Context, member uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM member_clocks WHERE member_id = ?`, member.String()); err != nil {
		return fmt.Errorf("delete clock of member %s: %w", member, err)
	}
	return nil
}

// Clocks lists what calibration learned of every member.
func (s *Store) Clocks(ctx context.Context) ([]hub.MemberClock, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT member_id, clock, computed_at FROM member_clocks ORDER BY member_id`)
	if err != nil {
		return nil, fmt.Errorf("read clocks: %w", err)
	}
	defer rows.Close()
	var out []hub.MemberClock
	for rows.Next() {
		var id, clock, at string
		if err := rows.Scan(&id, &clock, &at); err != nil {
			return nil, fmt.Errorf("read clocks: %w", err)
		}
		c := hub.MemberClock{}
		if c.MemberID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("read clocks: member %q: %w", id, err)
		}
		if err := json.Unmarshal([]byte(clock), &c.Clock); err != nil {
			return nil, fmt.Errorf("read clocks: member %s: %w", id, err)
		}
		if c.ComputedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("read clocks: member %s: %w", id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
