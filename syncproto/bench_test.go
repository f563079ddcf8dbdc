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

func BenchmarkDecodeHeader(b *testing.B) {
	in := benchInput(b, "trip_upserted_round_trip")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHeader(in); err != nil {
			b.Fatal(err)
		}
	}
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
