// Package retry runs an operation again after it fails, waiting longer
// after each failure in a row: exponential backoff from an initial wait to
// a maximum, with optional jitter, for a number of attempts or until the
// context ends. An operation says that retrying cannot help by wrapping
// its error with Permanent. Loops that wait between steps of their own can
// use a Policy's Delay alone.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy says how long to wait between attempts and when to give up.
type Policy struct {
	// Initial is the wait after the first failure; each further failure
	// in a row doubles it.
	Initial time.Duration
	// Max caps the wait; 0 for no cap.
	Max time.Duration
	// Jitter draws each wait at random from [d/2, d] rather than waiting
	// d, so that many clients failing together do not retry together.
	Jitter bool
	// Attempts is how many times Do calls the operation before it gives
	// up; 0 for no limit (until the context ends).
	Attempts int
	// OnRetry, when set, is called after a failed attempt (counting from
	// 1) that will be retried, with its error and the wait before the
	// next: the place to log it.
	OnRetry func(attempt int, err error, wait time.Duration)
}

// Delay is the wait after the nth failure in a row (n counts from 1).
func (p Policy) Delay(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && (p.Max <= 0 || d < p.Max) && d < time.Duration(1)<<61; i++ {
		d *= 2
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	if p.Jitter && d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	return d
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that no retry fixes: Do returns it at once,
// without the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Do calls op until it succeeds, returns a Permanent error, has been tried
// p.Attempts times, or ctx ends, waiting p.Delay(n) after the nth failure
// in a row. It returns nil on success, otherwise the last error of op
// (or, when ctx ended during a wait, the context's error).
func Do(ctx context.Context, p Policy, op func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if perm, ok := err.(permanent); ok {
			return perm.err
		}
		if _, ok := errors.AsType[permanent](err); ok {
			return err // wrapped further: keep the caller's context
		}
		if ctx.Err() != nil || (p.Attempts > 0 && attempt >= p.Attempts) {
			return err
		}
		wait := p.Delay(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		if !Sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// Sleep waits for d or until ctx ends, and reports whether it waited the
// whole time.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
