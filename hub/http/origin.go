package http

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/zoner-family/zoner/internal/httpx"
)

// checkOrigin refuses what a browser sends on behalf of another site.
//
// Every route but the public ones must name one of the hub's own
// addresses in its Host header: a page whose name was pointed at the
// hub's address (DNS rebinding) names itself, and is refused before it
// reads anything. A write (any method but GET and HEAD) that a browser
// marks as coming from elsewhere — an Origin other than the hub's own,
// or Sec-Fetch-Site other than same-origin or none — is refused too, with
// or without a valid cookie. Clients that are not browsers send neither
// header and pass.
func (s *Server) checkOrigin(r *http.Request, rt route) error {
	if rt.public {
		return nil
	}
	tls := r.TLS != nil
	if !s.allowedHost(r.Host, tls) {
		return httpx.Errorf(httpx.CodeForbidden, "this hub does not answer to the name "+quoteHost(r.Host)+": use one of its own addresses (start it with -hosts to add a name)")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http"
		if tls {
			scheme = "https"
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme != scheme || hostKey(u.Host, tls) != hostKey(r.Host, tls) {
			return httpx.Errorf(httpx.CodeForbidden, "a write from another web site (Origin "+quoteHost(o)+") is refused: use the hub's own web UI")
		}
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return httpx.Errorf(httpx.CodeForbidden, "a write from another web site (Sec-Fetch-Site "+quoteHost(site)+") is refused: use the hub's own web UI")
	}
	return nil
}

// allowedHost reports whether host (a Host header) is one of the hub's
// addresses; with no list, whether it is a loopback name.
func (s *Server) allowedHost(host string, tls bool) bool {
	if len(s.hosts) > 0 {
		return s.hosts[hostKey(host, tls)]
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.Trim(host, "[]")
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// hostKey is a host:port in one form: lower case, without a trailing dot,
// IPv6 in brackets, the scheme's port when none is given.
func hostKey(hostport string, tls bool) string {
	h, port, err := net.SplitHostPort(hostport)
	if err != nil {
		h, port = strings.Trim(hostport, "[]"), "80"
		if tls {
			port = "443"
		}
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if ip := net.ParseIP(h); ip != nil {
		h = ip.String()
	}
	return net.JoinHostPort(h, port)
}

// quoteHost quotes a header's value for a message, cut short.
func quoteHost(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == 0x7f {
			return '?'
		}
		return r
	}, s) + `"`
}
