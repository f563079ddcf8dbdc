package ics

import (
	"strings"
	"unicode/utf8"
)

// maxLine is the longest a physical line may be, in octets, without its CRLF.
const maxLine = 75

// clean makes s fit for a TEXT value: invalid UTF-8 becomes U+FFFD, CR LF
// and lone CRs become LF, and other control characters but tab are dropped
// (RFC 5545 TEXT allows none).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r':
			b.WriteByte('\n')
		case (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escape cleans s and escapes it as a TEXT value.
func escape(s string) string {
	s = clean(s)
	if !strings.ContainsAny(s, "\\;,\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fold appends line to dst as CRLF-terminated physical lines of at most
// maxLine octets, each after the first starting with a space, cutting only
// between UTF-8 characters.
func fold(dst []byte, line string) []byte {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8: never happens after clean
			cut = limit
		}
		dst = append(dst, line[:cut]...)
		dst = append(dst, "\r\n "...)
		line = line[cut:]
		limit = maxLine - 1
	}
	dst = append(dst, line...)
	return append(dst, "\r\n"...)
}
