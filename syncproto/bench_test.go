package syncproto

import (
	"os"
	"testing"
	"time"
)

func benchInput(b *testing.B, name string) []byte {
	b.Helper()
	in, err := os.ReadFile("testdata/valid/" + name + ".json")
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// BenchmarkUnmarshal decodes and validates a typical small event (a sleep
// log) and the largest common one (a two-leg family trip).
func BenchmarkUnmarshal(b *testing.B) {
	for _, name := range []string{"sleep_night", "trip_upserted_round_trip"} {
		in := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Unmarshal(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeHeader reads the header of the same events as
// BenchmarkUnmarshal and, in the same run, decodes them whole: under each
// event, the Unmarshal leaf is the full decode and the DecodeHeader leaf
// the header read. The DecodeHeader leaf reports "ratio", its ns/op divided
// by the Unmarshal leaf's: lower is better, and a header read should cost a
// small fraction (at most 0.2) of a full decode.
func BenchmarkDecodeHeader(b *testing.B) {
	for _, name := range []string{"sleep_night", "trip_upserted_round_trip"} {
		in := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
			var full float64 // Unmarshal's ns/op in this run
			b.Run("Unmarshal", func(b *testing.B) {
				full = nsPerOp(b, in, func(in []byte) error { _, err := Unmarshal(in); return err })
			})
			b.Run("DecodeHeader", func(b *testing.B) {
				header := nsPerOp(b, in, func(in []byte) error { _, err := DecodeHeader(in); return err })
				if full == 0 { // the Unmarshal leaf was filtered out: time it here
					b.StopTimer()
					const n = 1000
					start := time.Now()
					for range n {
						if _, err := Unmarshal(in); err != nil {
							b.Fatal(err)
						}
					}
					full = float64(time.Since(start).Nanoseconds()) / n
				}
				b.ReportMetric(header/full, "ratio")
			})
		})
	}
}

// nsPerOp runs decode on in for the benchmark's loop and returns its
// average time in nanoseconds.
func nsPerOp(b *testing.B, in []byte, decode func([]byte) error) float64 {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := decode(in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(b.Elapsed().Nanoseconds()) / float64(n)
}

func BenchmarkMarshal(b *testing.B) {
	e, err := Unmarshal(benchInput(b, "trip_upserted_round_trip"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClockNow(b *testing.B) {
	c := NewClock(time.Now)
	b.ReportAllocs()
	for b.Loop() {
		c.Now()
	}
}
