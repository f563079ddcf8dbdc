package retry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelay(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, p.Delay(n))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	if d := (Policy{Initial: time.Second}).Delay(200); d <= 0 {
		t.Errorf("no cap, 200th failure: %s (overflow)", d)
	}
	j := Policy{Initial: time.Second, Max: 8 * time.Second, Jitter: true}
	for n := 1; n <= 6; n++ {
		full := Policy{Initial: j.Initial, Max: j.Max}.Delay(n)
		for range 100 {
			if d := j.Delay(n); d < full/2 || d > full {
				t.Fatalf("jittered delay %d: %s, want within [%s, %s]", n, d, full/2, full)
			}
		}
	}
}

// TestDo: the waits between attempts, in the bubble's time; OnRetry is
// told each failure that will be retried.
func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		var told []string
		start := time.Now()
		p := Policy{Initial: time.Second, Max: 4 * time.Second,
			OnRetry: func(n int, err error, wait time.Duration) { told = append(told, fmt.Sprint(n, err, wait)) }}
		err := Do(t.Context(), p, func(context.Context) error {
			at = append(at, time.Since(start))
			if len(at) < 5 {
				return errors.New("down")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second}
		if !slices.Equal(at, want) {
			t.Errorf("attempts at %v, want %v", at, want)
		}
		if !slices.Equal(told, []string{"1 down 1s", "2 down 2s", "3 down 4s", "4 down 4s"}) {
			t.Errorf("told %q", told)
		}
	})
}

func TestDoGivesUp(t *testing.T) {
	down := errors.New("down")
	t.Run("after the attempts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := 0
			err := Do(t.Context(), Policy{Initial: time.Second, Attempts: 3}, func(context.Context) error { n++; return down })
			if !errors.Is(err, down) || n != 3 {
				t.Errorf("%v after %d attempts", err, n)
			}
		})
	})
	t.Run("on a permanent error", func(t *testing.T) {
		n := 0
		err := Do(t.Context(), Policy{Initial: time.Hour}, func(context.Context) error { n++; return Permanent(down) })
		if err != down || n != 1 {
			t.Errorf("%v after %d attempts", err, n)
		}
		wrapped := Do(t.Context(), Policy{Initial: time.Hour}, func(context.Context) error { return fmt.Errorf("write: %w", Permanent(down)) })
		if !errors.Is(wrapped, down) || wrapped.Error() != "write: down" {
			t.Errorf("wrapped: %v", wrapped)
		}
	})
	t.Run("when the context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := Do(ctx, Policy{Initial: time.Second, Max: time.Minute}, func(context.Context) error { return down })
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 10*time.Second {
				t.Errorf("%v after %s", err, time.Since(start))
			}
		})
	})
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if !Sleep(t.Context(), time.Hour) {
			t.Error("a sleep with a live context was cut short")
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
			t.Error("a sleep with an ended context reported a full wait")
		}
	})
}
