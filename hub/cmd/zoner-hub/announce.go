package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mdp/qrterminal/v3"
	"github.com/zoner-family/zoner/hub"
)

// netIface is what lanIPs reads of one of the machine's network
// interfaces.
type netIface struct {
	Name         string
	Up, Loopback bool
	IPs          []net.IP
}

// machineIfaces lists the machine's network interfaces as they are now.
func machineIfaces() ([]netIface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netIface
	for _, i := range ifs {
		n := netIface{Name: i.Name, Up: i.Flags&net.FlagUp != 0, Loopback: i.Flags&net.FlagLoopback != 0}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				n.IPs = append(n.IPs, ipn.IP)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// virtualIface reports whether an interface's name is one that container
// and VM tools make (a bridge a phone cannot reach): those go last.
func virtualIface(name string) bool {
	for _, p := range []string{"docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "cni", "flannel", "podman", "lxc", "lxd"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// lanIPs lists the addresses a phone on the local network can open the
// hub at: every IPv4 address of the interfaces that are up and not
// loopback, then their global IPv6 addresses; link-local addresses of
// either kind are left out (a phone cannot use them in a URL), and the
// interfaces of containers and virtual machines come last.
func lanIPs(ifaces []netIface) []net.IP {
	ifaces = slices.Clone(ifaces)
	slices.SortStableFunc(ifaces, func(a, b netIface) int {
		switch va, vb := virtualIface(a.Name), virtualIface(b.Name); {
		case va == vb:
			return 0
		case vb:
			return -1
		}
		return 1
	})
	var v4, v6 []net.IP
	seen := map[string]bool{}
	for _, i := range ifaces {
		if !i.Up || i.Loopback {
			continue
		}
		for _, ip := range i.IPs {
			if ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || !ip.IsGlobalUnicast() || seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			if ip4 := ip.To4(); ip4 != nil {
				v4 = append(v4, ip4)
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	return append(v4, v6...)
}

// hubURLs are the addresses to open the hub at, as URLs: with TLS the
// names of -hosts first (the certificate names them), then the addresses;
// without, the addresses first.
func hubURLs(ips []net.IP, hosts []string, port int, tls bool) []string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	var ipURLs, hostURLs []string
	for _, ip := range ips {
		ipURLs = append(ipURLs, scheme+"://"+net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	}
	for _, h := range hosts {
		if _, _, err := net.SplitHostPort(h); err == nil {
			hostURLs = append(hostURLs, scheme+"://"+h) // its own port (behind a proxy)
		} else {
			hostURLs = append(hostURLs, scheme+"://"+net.JoinHostPort(strings.Trim(h, "[]"), strconv.Itoa(port)))
		}
	}
	if tls {
		return append(hostURLs, ipURLs...)
	}
	return append(ipURLs, hostURLs...)
}

// launch is how the hub was started, for the commands its messages give.
type launch struct {
	// Exe is the running executable's path.
	Exe string
	// OnPath says that the shell finds Exe by its name.
	OnPath bool
	// Checkout says that Exe was built from a checkout of this
	// repository: it lies in one (go tool task run builds into
	// .artifacts/), or in Go's build cache or a temporary directory (go
	// run).
	Checkout bool
}

// thisLaunch finds out how the running hub was started.
func thisLaunch() launch {
	exe, err := os.Executable()
	if err != nil {
		return launch{OnPath: true, Exe: "zoner-hub"}
	}
	if e, err := filepath.EvalSymlinks(exe); err == nil {
		exe = e
	}
	l := launch{Exe: exe}
	if p, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil && p == exe {
			l.OnPath = true
		}
	}
	l.Checkout = inTemp(exe) || inCheckout(filepath.Dir(exe))
	return l
}

// inTemp reports whether path is where go run leaves its builds.
func inTemp(path string) bool {
	if strings.Contains(filepath.ToSlash(path), "/go-build") {
		return true
	}
	for _, d := range []string{os.TempDir(), os.Getenv("GOTMPDIR"), os.Getenv("GOCACHE")} {
		if d != "" && strings.HasPrefix(path, filepath.Clean(d)+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// inCheckout reports whether dir lies in a checkout of this repository:
// a go.mod of the module above it.
func inCheckout(dir string) bool {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			f.Close()
			return strings.TrimSpace(line) == "module github.com/zoner-family/zoner"
		}
		up := filepath.Dir(dir)
		if up == dir {
			return false
		}
		dir = up
	}
}

// command is the command line that runs the hub with args, as its
// owner would type it where the hub runs: `zoner-hub` when that is the
// installed program, `go tool task run --` from a checkout, else the
// program's path. A data directory other than the default is named.
func (l launch) command(args, dataDir, defaultData string) string {
	var cmd string
	name := strings.TrimSuffix(filepath.Base(l.Exe), ".exe")
	switch {
	case l.Checkout:
		cmd = "go tool task run --"
	case l.OnPath:
		cmd = name
	default:
		cmd = shellQuote(l.Exe)
	}
	if args != "" {
		cmd += " " + args
	}
	if dataDir != "" && filepath.Clean(dataDir) != filepath.Clean(defaultData) {
		cmd += " -data " + shellQuote(dataDir)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return s
	}
	if runtime.GOOS == "windows" {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// announce tells the person who started the hub where to open it: on a
// loopback address, the one address and how to serve phones; on the
// local network, the pairing token when it is new, every address a phone
// can open, and a QR code of a pairing link for the first one.
func (m *Main) announce(w io.Writer, lan []string, p *hub.Pairing, newToken string) {
	var b bytes.Buffer
	if p == nil {
		fmt.Fprintf(&b, "\nZoner is ready. Open %s in a browser on this computer.\n", m.URL)
		fmt.Fprintf(&b, "To use it on phones on the same Wi-Fi, start it with -lan instead: %s\n\n", m.launch.command("-lan", m.DataDir, defaultDataDir()))
		w.Write(b.Bytes())
		return
	}
	pair := m.launch.command("pair", m.DataDir, defaultDataDir())
	b.WriteString("\nZoner is ready, and serves the local network.\n")
	if newToken != "" {
		fmt.Fprintf(&b, "\nPairing code for your household (shown once; keep it):\n\n    %s\n\nA phone asks for it once. `%s` makes a new one.\n", newToken, pair)
	}
	if len(lan) == 0 {
		fmt.Fprintf(&b, "\nThis computer has no network address a phone could use: connect it to the Wi-Fi, then restart the hub. On this computer, open %s\n\n", m.URL)
		w.Write(b.Bytes())
		return
	}
	b.WriteString("\nOn a phone on the same Wi-Fi, open:\n\n")
	for _, u := range lan {
		fmt.Fprintf(&b, "    %s\n", u)
	}
	code, exp := p.NewInvite(m.Now())
	link := lan[0] + "/#/pair/" + code
	fmt.Fprintf(&b, "\nOr scan this code with the phone's camera: it opens Zoner and pairs that one phone, until %s (%d minutes).\n", exp.Local().Format("15:04"), int(hub.InviteTTL/time.Minute))
	fmt.Fprintf(&b, "To add more phones: on a paired phone, open Sync, then Add another phone.\n\n")
	qrterminal.GenerateWithConfig(link, qrterminal.Config{Level: qrterminal.L, Writer: &b, HalfBlocks: true, QuietZone: 2})
	fmt.Fprintf(&b, "\n    %s\n\nOn this computer, open %s (it asks for the pairing code too).\n\n", link, m.URL)
	w.Write(b.Bytes())
}
