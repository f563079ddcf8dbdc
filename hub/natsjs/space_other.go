//go:build !unix

package natsjs

import "math"

// diskFree is not measured on this system: JetStream's own errors are the
// only sign of a full disk.
func diskFree(string) (uint64, error) { return math.MaxUint64, nil }
