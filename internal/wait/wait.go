// Package wait polls a condition in tests until it holds: the one way the
// repository's tests wait for something to happen. A test that must show
// that something did not happen waits first for a positive signal that
// the system took the input (a later event got through, a counter moved)
// and then checks the absence; it never checks right after a sleep.
// For tests only.
package wait

import (
	"errors"
	"testing"
	"time"
)

// For calls cond until it returns nil, and fails tb with what and cond's
// last error when limit passes first. It polls quickly at first and then
// less often (up to limit/200, between 20 ms and 2 s), so a slow check is
// not run in a tight loop. Inside a testing/synctest bubble it waits in
// the bubble's time.
func For(tb testing.TB, limit time.Duration, what string, cond func() error) {
	tb.Helper()
	if err := Poll(limit, cond); err != nil {
		tb.Fatalf("after %s, still not %s: %v", limit, what, err)
	}
}

// Until is For with a condition that reports whether it holds and, when
// it does not, the state as it stands for the failure message.
func Until(tb testing.TB, limit time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	For(tb, limit, what, func() error {
		if ok, state := cond(); !ok {
			return errors.New(state)
		}
		return nil
	})
}

// Poll is For without a test: it returns nil once cond does, or cond's
// last error when limit passes first, for helpers that report failure
// their own way.
func Poll(limit time.Duration, cond func() error) error {
	deadline := time.Now().Add(limit)
	most := min(max(limit/200, 20*time.Millisecond), 2*time.Second)
	every := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(min(every, time.Until(deadline)+time.Millisecond))
		every = min(2*every, most)
	}
}
