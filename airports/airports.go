// Package airports looks up an airport by its IATA code: its position and
// its IANA time zone.
//
// The table is airports.txt, compiled in with go:embed: the package reads
// no file, network or clock, so pure code such as the planner can use it.
// web/internal/genairports writes it from the same input, in the same run,
// as the web UI's web/static/js/airports.js, so the two always hold the same
// airports, zones and positions (a test checks). The data is derived from
// the OpenFlights airports database under the Open Database License; see
// web/static/js/AIRPORTS-LICENSE.md for the source, the licences and how to
// regenerate both files.
package airports

import (
	_ "embed" // the table
	"fmt"
	"strconv"
	"strings"
	"sync"
)

//go:embed airports.txt
var table string

// Airport is one airport.
type Airport struct {
	// IATA is the three-letter code, upper case.
	IATA string
	// Lat and Lon are the position in degrees north and east, to about
	// 100 m (3 decimals). Both are 0 where the data has no position;
	// every airport in the current data has one.
	Lat, Lon float64
	// TZ is the IANA time zone name, such as "Europe/London".
	TZ string
}

// Lookup returns the airport with IATA code code (upper or lower case), and
// whether there is one.
func Lookup(code string) (Airport, bool) {
	a, ok := index()[strings.ToUpper(code)]
	return a, ok
}

// index parses the table once, on first use.
var index = sync.OnceValue(func() map[string]Airport {
	m, err := parse(table)
	if err != nil {
		panic("airports: the embedded airports.txt is malformed: " + err.Error())
	}
	return m
})

// parse reads the table's lines: "IATA|lat|lon|tz", comments starting
// with "#".
func parse(s string) (map[string]Airport, error) {
	m := make(map[string]Airport, strings.Count(s, "\n"))
	for n, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 || len(f[0]) != 3 || f[3] == "" {
			return nil, fmt.Errorf("line %d: %q", n+1, line)
		}
		a := Airport{IATA: f[0], TZ: f[3]}
		if f[1] != "" || f[2] != "" {
			var err1, err2 error
			a.Lat, err1 = strconv.ParseFloat(f[1], 64)
			a.Lon, err2 = strconv.ParseFloat(f[2], 64)
			if err1 != nil || err2 != nil || a.Lat < -90 || a.Lat > 90 || a.Lon < -180 || a.Lon > 180 {
				return nil, fmt.Errorf("line %d: bad position in %q", n+1, line)
			}
		}
		if _, dup := m[a.IATA]; dup {
			return nil, fmt.Errorf("line %d: %s again", n+1, a.IATA)
		}
		m[a.IATA] = a
	}
	return m, nil
}
