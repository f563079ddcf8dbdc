package http

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// The SVG has one square per dark module of the code, inside a white
// quiet zone of four modules.
func TestQRSVG(t *testing.T) {
	text := "http://192.168.1.20:8080/#/pair/abcdefghijklmnopqrstuvwxyz234567"
	svg, err := qrSVG(text)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := qr.Encode(text, qr.M)
	dark := 0
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				dark++
			}
		}
	}
	if n := strings.Count(svg, "h1v1h-1z"); n != dark || !strings.Contains(svg, `<path fill="#000" d="M4 4h1v1h-1z`) {
		t.Errorf("%d squares for %d dark modules: %.200s", n, dark, svg)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "LOCALHOST": true,
		"192.168.1.20:8080": false, "hub.local": false, "[2001:db8::1]:80": false} {
		if isLoopbackHost(h) != want {
			t.Errorf("isLoopbackHost(%q) = %v", h, !want)
		}
	}
}
