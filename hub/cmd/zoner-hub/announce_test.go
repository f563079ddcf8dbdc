package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A phone is given every IPv4 address of the interfaces that are up and
// not loopback, then the global IPv6 ones; never loopback, link-local or
// down interfaces, and the bridges of containers come last.
func TestLANIPs(t *testing.T) {
	ip := net.ParseIP
	ifaces := []netIface{
		{Name: "lo", Up: true, Loopback: true, IPs: []net.IP{ip("127.0.0.1"), ip("::1")}},
		{Name: "docker0", Up: true, IPs: []net.IP{ip("172.17.0.1")}},
		{Name: "wlan0", Up: true, IPs: []net.IP{ip("fe80::1"), ip("2001:db8::20"), ip("192.168.1.20")}},
		{Name: "eth1", Up: false, IPs: []net.IP{ip("10.0.0.5")}},
		{Name: "eth0", Up: true, IPs: []net.IP{ip("169.254.3.4"), ip("10.1.2.3"), ip("192.168.1.20")}},
	}
	var got []string
	for _, a := range lanIPs(ifaces) {
		got = append(got, a.String())
	}
	want := []string{"192.168.1.20", "10.1.2.3", "172.17.0.1", "2001:db8::20"}
	if !slices.Equal(got, want) {
		t.Errorf("lanIPs = %v, want %v", got, want)
	}
	if lanIPs([]netIface{ifaces[0], ifaces[3]}) != nil {
		t.Error("addresses found on loopback or down interfaces")
	}

	urls := hubURLs(lanIPs(ifaces)[2:], []string{"hub.local", "proxy.example:443"}, 8080, false)
	if want := []string{"http://172.17.0.1:8080", "http://[2001:db8::20]:8080", "http://hub.local:8080", "http://proxy.example:443"}; !slices.Equal(urls, want) {
		t.Errorf("hubURLs = %v", urls)
	}
	// Over TLS the certificate's names come first.
	if u := hubURLs([]net.IP{ip("192.168.1.20")}, []string{"hub.local"}, 8443, true); !slices.Equal(u, []string{"https://hub.local:8443", "https://192.168.1.20:8443"}) {
		t.Errorf("hubURLs over TLS = %v", u)
	}
}

// The messages give the command that works for how the hub was started:
// zoner-hub when installed under that name, go tool task run from a
// checkout (go run's build cache included), else the program's path; the
// data directory only when it is not the default.
func TestLaunchCommand(t *testing.T) {
	def := "/home/ann/.local/share/zoner-hub"
	cases := []struct {
		l          launch
		args, data string
		want       string
	}{
		{launch{Exe: "/usr/local/bin/zoner-hub", OnPath: true}, "pair", def, "zoner-hub pair"},
		{launch{Exe: "/usr/local/bin/zoner-hub", OnPath: true}, "pair", "/srv/zoner", "zoner-hub pair -data /srv/zoner"},
		{launch{Exe: "/tmp/go-build123/b001/exe/zoner-hub", Checkout: true}, "pair", def, "go tool task run -- pair"},
		{launch{Exe: "/src/zoner/.artifacts/bin/zoner-hub", Checkout: true}, "-lan", "/data/my hub", "go tool task run -- -lan -data '/data/my hub'"},
		{launch{Exe: "/opt/zoner/zoner-hub"}, "pair", def, "/opt/zoner/zoner-hub pair"},
		{launch{Exe: "/opt/zoner/hub", OnPath: true}, "pair", def, "hub pair"},
	}
	for _, c := range cases {
		if got := c.l.command(c.args, c.data, def); got != c.want {
			t.Errorf("%+v %q: %q, want %q", c.l, c.args, got, c.want)
		}
	}
	if !inTemp(filepath.Join(os.TempDir(), "go-build1", "b001", "exe", "zoner-hub")) || inTemp("/usr/local/bin/zoner-hub") {
		t.Error("inTemp")
	}
	// This test runs from a checkout; its root is no checkout's.
	wd, _ := os.Getwd()
	if !inCheckout(wd) || inCheckout(string(filepath.Separator)) {
		t.Error("inCheckout")
	}
}

// A loopback hub says where to open it and how to serve phones; a LAN hub
// shows its new token, every address and a QR code of a one-time pairing
// link for the first address, with the code in the fragment.
func TestAnnounce(t *testing.T) {
	var out bytes.Buffer
	m := mustRun(t, t.TempDir(), func(m *Main) { m.Stdout = &out })
	if s := out.String(); !strings.Contains(s, "Open "+m.URL+" in a browser on this computer") || !strings.Contains(s, "-lan") {
		t.Errorf("loopback start-up output: %q", s)
	}
	out.Reset()
	m = mustRun(t, t.TempDir(), func(m *Main) { m.HTTPAddr, m.Stdout = "0.0.0.0:0", &out })
	s := out.String()
	if ifaces, _ := machineIfaces(); len(lanIPs(ifaces)) == 0 {
		if !strings.Contains(s, "no network address") {
			t.Errorf("LAN start-up output on a machine with no network: %q", s)
		}
		t.Skip("this machine has no network address a phone could use")
	}
	link := regexp.MustCompile(`https?://\S+/#/pair/([a-z2-7]{32})`).FindStringSubmatch(s)
	if !pairingToken.MatchString(s) || link == nil || !strings.Contains(s, "▀") {
		t.Fatalf("LAN start-up output: %q", s)
	}
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/pairing/session", []byte(`{"token":"`+link[1]+`"}`), 200, nil)
	var e struct{ Message string }
	c.json("POST", "/api/v1/pairing/session", []byte(`{"token":"`+link[1]+`"}`), 401, &e)
	if !strings.Contains(e.Message, "already used") {
		t.Errorf("a second use: %q", e.Message)
	}
}
