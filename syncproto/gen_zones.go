//go:build ignore

// gen_zones writes zones.txt: the IANA zone names of the Go toolchain's
// embedded time zone database, one a line, sorted. Run it through
// `go generate ./syncproto` after a Go upgrade; TestZoneListMatchesToolchain
// says when it is due.
package main

import (
	"archive/zip"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		log.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		// Factory is a placeholder zone for unconfigured systems, not a place.
		if f.FileInfo().IsDir() || f.Name == "Factory" {
			continue
		}
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if err := os.WriteFile("zones.txt", []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
}
