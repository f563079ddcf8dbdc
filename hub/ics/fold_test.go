package ics

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// checkLines checks every physical line of feed: CRLF-terminated, at most
// 75 octets, valid UTF-8, and no bare CR or LF.
func checkLines(tb testing.TB, feed string) {
	tb.Helper()
	if !strings.HasSuffix(feed, "\r\n") {
		tb.Fatalf("feed does not end with CRLF")
	}
	for i, l := range strings.Split(strings.TrimSuffix(feed, "\r\n"), "\r\n") {
		if len(l) > maxLine {
			tb.Errorf("line %d is %d octets: %q", i, len(l), l)
		}
		if !utf8.ValidString(l) {
			tb.Errorf("line %d is not valid UTF-8: %q", i, l)
		}
		if strings.ContainsAny(l, "\r\n") {
			tb.Errorf("line %d has a bare CR or LF: %q", i, l)
		}
		if i > 0 && l == " " {
			tb.Errorf("line %d is an empty continuation", i)
		}
	}
}

func TestFolding(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{"500 multi-byte", strings.Repeat("é—日😴", 125)},
		{"500 ASCII", strings.Repeat("abcde", 100)},
		{"escapes", strings.Repeat("a,b;c\\d\ne", 50)},
		{"one 4-byte rune after each offset", "x" + strings.Repeat("😴y", 200)},
		{"exactly one line", strings.Repeat("s", maxLine-len("SUMMARY:"))},
		{"one octet over", strings.Repeat("s", maxLine-len("SUMMARY:")+1)},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := sampleCalendar(0)
			cal.Trips[0].Plan.Days[1].Items[0].Text = tt.text
			feed := mustWrite(t, cal)
			checkLines(t, feed)
			ev := events(parse(t, feed))[0]
			want := escape(tt.text)
			if tt.text == "" {
				want = "light_seek" // an empty Text falls back to the kind
			}
			if got, _ := ev.get("SUMMARY"); got != want {
				t.Errorf("unfolded SUMMARY = %q, want %q", got, want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	// Every split of a 4-byte rune across the 75-octet boundary.
	for pad := range 8 {
		line := strings.Repeat("a", maxLine-4+pad) + "😴" + strings.Repeat("€", 60)
		folded := string(fold(nil, line))
		checkLines(t, folded)
		if got := strings.TrimSuffix(unfold(folded), "\r\n"); got != line {
			t.Errorf("pad %d: unfold(fold(line)) = %q, want %q", pad, got, line)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Sleep 21:00–07:00", "Sleep 21:00–07:00"},
		{"specials", `a\b;c,d`, `a\\b\;c\,d`},
		{"newlines", "a\nb\r\nc\rd", `a\nb\nc\nd`},
		{"controls", "a\x00b\x1b\x7fc\td", "abc\td"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escape(tt.in); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
