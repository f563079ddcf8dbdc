package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zoner-family/zoner/hub"
)

// acceptedKey is the setting that holds the sequence up to which the
// owner accepted what the log lost.
const acceptedKey = "log.accepted_loss"

// checkLog compares the state database with the log before anything is
// applied or written. A log that lost its end, while the state database
// still holds those events, is repaired: the events are appended again at
// their sequences. Whatever else the log lacks is returned.
func (m *Main) checkLog(ctx context.Context) (hub.Integrity, []hub.SeqRange, error) {
	var in hub.Integrity
	st, err := m.nats.State(ctx)
	if err != nil {
		return in, nil, err
	}
	in.Log = st
	if in.Applied, err = m.store.AppliedSeq(ctx); err != nil {
		return in, nil, err
	}
	acc, err := m.store.Setting(ctx, acceptedKey)
	if err != nil {
		return in, nil, err
	}
	if acc != "" {
		if in.Accepted, err = strconv.ParseUint(acc, 10, 64); err != nil {
			return in, nil, fmt.Errorf("setting %s: %w", acceptedKey, err)
		}
	}
	missing := in.Missing()
	if in.Ahead() && len(missing) == 1 && missing[0].From == st.Last+1 {
		events, err := m.heldEvents(ctx, missing[0])
		if err != nil {
			return in, nil, err
		}
		if contiguous(events, missing[0]) {
			m.Logger.Warn("the event log lost its last events; the state database holds them: appending them again", "seqs", missing[0].String())
			if err := m.nats.Restore(ctx, events); err != nil {
				return in, nil, fmt.Errorf("repair the event log: %w", err)
			}
			m.Logger.Warn("repaired the event log", "restored", len(events), "seqs", missing[0].String())
			if in.Log, err = m.nats.State(ctx); err != nil {
				return in, nil, err
			}
			missing = in.Missing()
		}
	}
	return in, missing, nil
}

// heldEvents are the events of r whose JSON the state database holds (the
// recent ones: the rest are in the log only), in order.
func (m *Main) heldEvents(ctx context.Context, r hub.SeqRange) ([]hub.Event, error) {
	return m.store.Held(ctx, r.From, r.To)
}

// contiguous reports whether events hold every sequence of r.
func contiguous(events []hub.Event, r hub.SeqRange) bool {
	for i, e := range events {
		if e.Seq != r.From+uint64(i) {
			return false
		}
	}
	return uint64(len(events)) == r.Len()
}

// saveLost writes the events of the missing ranges that the state
// database holds to a file in the data directory, one JSON object a line
// ({"seq":…,"event":…}), before a rebuild drops them. It returns the
// file's path ("" when the state held none) and how many it saved.
func (m *Main) saveLost(ctx context.Context, missing []hub.SeqRange) (string, int, error) {
	var lines []byte
	n := 0
	for _, r := range missing {
		events, err := m.heldEvents(ctx, r)
		if err != nil {
			return "", 0, err
		}
		for _, e := range events {
			b, err := json.Marshal(struct {
				Seq   uint64          `json:"seq"`
				Event json.RawMessage `json:"event"`
			}{e.Seq, e.Raw})
			if err != nil {
				return "", 0, err
			}
			lines = append(append(lines, b...), '\n')
			n++
		}
	}
	if n == 0 {
		return "", 0, nil
	}
	path := filepath.Join(m.DataDir, "lost-events-"+m.Now().UTC().Format("20060102T150405Z")+".jsonl")
	if err := os.WriteFile(path, lines, 0o600); err != nil {
		return "", 0, fmt.Errorf("save the lost events: %w", err)
	}
	return path, n, nil
}

// lostReport says what the log lacks, for the owner.
func lostReport(in hub.Integrity, missing []hub.SeqRange) string {
	held := uint64(0)
	for _, r := range missing {
		if r.From <= in.Applied {
			held += min(r.To, in.Applied) - r.From + 1
		}
	}
	return fmt.Sprintf("the event log lacks %d events (sequences %s; it holds %d events, %d to %d); the state database applied up to %d, so it holds up to %d of the lost events",
		hub.CountRanges(missing), hub.FormatRanges(missing), in.Log.Msgs, in.Log.First, in.Log.Last, in.Applied, held)
}
