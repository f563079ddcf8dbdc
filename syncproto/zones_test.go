package syncproto

import (
	"archive/zip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestZonesAllLoad(t *testing.T) {
	names := Zones()
	if len(names) < 400 {
		t.Fatalf("only %d zones embedded", len(names))
	}
	if !slices.IsSorted(names) {
		t.Error("zones.txt is not sorted")
	}
	for _, name := range names {
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("zone %s in the list does not load: %v", name, err)
		}
	}
}

// TestZoneListMatchesToolchain fails after a Go upgrade that changes the
// zone database, until zones.txt is regenerated.
func TestZoneListMatchesToolchain(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Skipf("toolchain has no zoneinfo.zip: %v", err)
	}
	defer zr.Close()
	var want []string
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && f.Name != "Factory" {
			want = append(want, f.Name)
		}
	}
	slices.Sort(want)
	if !slices.Equal(Zones(), want) {
		t.Errorf("zones.txt (%d names) differs from the toolchain's database (%d names); run go generate ./syncproto", len(Zones()), len(want))
	}
}

func TestValidZone(t *testing.T) {
	for name, want := range map[string]bool{
		"Europe/London":                  true,
		"America/Argentina/Buenos_Aires": true,
		"Asia/Kolkata":                   true,
		"Asia/Calcutta":                  true, // a backward-compatible link is still a name devices send
		"UTC":                            true,
		"":                               false,
		"Local":                          false, // means a different place on every device
		"Factory":                        false,
		"europe/london":                  false,
		"Europe/London ":                 false,
		"../../etc/passwd":               false,
		"+01:00":                         false,
	} {
		if got := ValidZone(name); got != want {
			t.Errorf("ValidZone(%q) = %v, want %v", name, got, want)
		}
	}
	if _, err := LoadZone("Mars/Olympus_Mons"); err == nil {
		t.Error("LoadZone accepted an unknown zone")
	}
	if loc, err := LoadZone("Australia/Sydney"); err != nil || loc.String() != "Australia/Sydney" {
		t.Errorf("LoadZone(Australia/Sydney) = %v, %v", loc, err)
	}
}
