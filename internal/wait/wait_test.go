package wait

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		err := Poll(time.Minute, func() error {
			if n++; time.Since(start) < 10*time.Second {
				return fmt.Errorf("try %d", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// 1, 2, 4, ... ms, then every 300 ms (a minute / 200).
		if took := time.Since(start); took < 10*time.Second || took > 10*time.Second+300*time.Millisecond || n > 50 {
			t.Errorf("held after %s and %d tries", took, n)
		}
		start = time.Now()
		err = Poll(5*time.Second, func() error { return fmt.Errorf("still %s", time.Since(start)) })
		if err == nil || err.Error() != "still 5.001s" {
			t.Errorf("last error %v, want the one at the limit", err)
		}
	})
}

// recorder is a testing.TB that records a Fatalf.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	// The real Fatalf ends the goroutine; For must not rely on it.
}

func TestForFailsWithTheLastReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{TB: t}
		For(r, time.Second, "ready", func() error { return errors.New("3 of 4 up") })
		if r.msg != "after 1s, still not ready: 3 of 4 up" {
			t.Errorf("message %q", r.msg)
		}
		Until(r, time.Second, "settled", func() (bool, string) { return false, "lag 7" })
		if r.msg != "after 1s, still not settled: lag 7" {
			t.Errorf("message %q", r.msg)
		}
		r.msg = ""
		Until(r, time.Second, "settled", func() (bool, string) { return true, "" })
		if r.msg != "" {
			t.Errorf("failed when the condition held: %q", r.msg)
		}
	})
}
