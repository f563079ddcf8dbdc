package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// ClientIP is the address of the client that sent r, without the port.
// It is the direct peer (r.RemoteAddr), unless that peer is in one of the
// trusted networks (the proxies in front of the server): then it is the
// nearest address of X-Forwarded-For that is not trusted. What a client
// writes in the header itself, to the left of that, is not believed.
// With no trusted networks the header is ignored.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr := host
	for hops := slices.Clone(r.Header.Values("X-Forwarded-For")); isTrusted(addr, trusted) && len(hops) > 0; {
		last := hops[len(hops)-1]
		i := strings.LastIndexByte(last, ',')
		next := strings.TrimSpace(last[i+1:])
		if i < 0 {
			hops = hops[:len(hops)-1]
		} else {
			hops[len(hops)-1] = last[:i]
		}
		if next == "" {
			continue
		}
		addr = next
	}
	return addr
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
