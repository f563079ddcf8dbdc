package circadian

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// timetablesFile is a corpus of real airline timetables: trips of
// scheduled flights, one-way and round, that property tests plan for
// families of every age band.
const timetablesFile = "testdata/timetables.json"

// corpusTrip is one trip of the timetables corpus.
type corpusTrip struct {
	Trip Trip
	// Home is the IANA zone the travellers live in.
	Home   string
	Source string
	Notes  string
	// ends are the airports' coordinates, one per leg, for checking the
	// scheduled block times against the distance flown.
	ends []corpusEnds
}

// corpusEnds is where a leg starts and ends, in degrees.
type corpusEnds struct {
	fromLat, fromLon, toLat, toLon float64
}

// timetablesJSON is the file's layout.
type timetablesJSON struct {
	About string `json:"about"`
	Trips []struct {
		Name   string `json:"name"`
		Home   string `json:"home"`
		Source string `json:"source"`
		Notes  string `json:"notes"`
		Legs   []struct {
			Flight  string  `json:"flight"`
			From    string  `json:"from"`
			FromTZ  string  `json:"from_tz"`
			FromLat float64 `json:"from_lat"`
			FromLon float64 `json:"from_lon"`
			Depart  string  `json:"depart"`
			To      string  `json:"to"`
			ToTZ    string  `json:"to_tz"`
			ToLat   float64 `json:"to_lat"`
			ToLon   float64 `json:"to_lon"`
			Arrive  string  `json:"arrive"`
		} `json:"legs"`
	} `json:"trips"`
}

var (
	corpusIATA   = regexp.MustCompile(`^[A-Z]{3}$`)
	corpusFlight = regexp.MustCompile(`^[A-Z0-9]{2}[0-9]{1,4}$`)
)

// loadTimetables reads the corpus and builds a Trip for each entry, with
// zones from syncproto.LoadZone and local times parsed in them. Each trip
// has a fixed ID derived from its name and no travellers.
func loadTimetables(t testing.TB) []corpusTrip {
	t.Helper()
	raw, err := os.ReadFile(timetablesFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc timetablesJSON
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", timetablesFile, err)
	}
	if len(doc.Trips) == 0 {
		t.Fatalf("%s: no trips", timetablesFile)
	}
	load := func(trip, name string) *time.Location {
		loc, err := syncproto.LoadZone(name)
		if err != nil {
			t.Fatalf("%s: %v", trip, err)
		}
		return loc
	}
	parse := func(trip, s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatalf("%s: %v", trip, err)
		}
		// A local time in a gap or an overlap has no single instant.
		if got := v.Format("2006-01-02 15:04"); got != s {
			t.Fatalf("%s: %s does not exist in %s (reads back as %s)", trip, s, loc, got)
		}
		return v
	}
	names := map[string]bool{}
	var out []corpusTrip
	for _, e := range doc.Trips {
		if e.Name == "" || names[e.Name] {
			t.Fatalf("%s: trip name %q empty or repeated", timetablesFile, e.Name)
		}
		names[e.Name] = true
		if e.Source == "" || e.Notes == "" || len(e.Legs) == 0 {
			t.Fatalf("%s: needs a source, notes and legs", e.Name)
		}
		load(e.Name, e.Home)
		ct := corpusTrip{Home: e.Home, Source: e.Source, Notes: e.Notes,
			Trip: Trip{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("zoner:timetables:"+e.Name)), Name: e.Name}}
		for i, l := range e.Legs {
			at := fmt.Sprintf("%s, leg %d", e.Name, i+1)
			if !corpusFlight.MatchString(l.Flight) || !corpusIATA.MatchString(l.From) || !corpusIATA.MatchString(l.To) {
				t.Fatalf("%s: flight %q from %q to %q", at, l.Flight, l.From, l.To)
			}
			from, to := load(at, l.FromTZ), load(at, l.ToTZ)
			ct.Trip.Legs = append(ct.Trip.Legs, Leg{Flight: l.Flight, From: l.From, To: l.To, FromTZ: from, ToTZ: to,
				FromAt: airportPlace(l.From), ToAt: airportPlace(l.To),
				Depart: parse(at, l.Depart, from), Arrive: parse(at, l.Arrive, to)})
			ct.ends = append(ct.ends, corpusEnds{l.FromLat, l.FromLon, l.ToLat, l.ToLon})
		}
		out = append(out, ct)
	}
	return out
}

// corpusKm is the haversine distance between two points.
func corpusKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(a))
}

// Block speed bounds: the distance over the scheduled block time less
// a fixed allowance for taxiing, climb and descent. Real schedules sit
// between the two, from a short hop between congested airports to an
// ultra-long-haul flight riding the jet stream; an hour's typo on a
// short flight, or a day's typo on any flight, falls outside.
const (
	corpusGroundAllowance = 30 * time.Minute
	corpusMinKmh          = 400.0
	corpusMaxKmh          = 1000.0
)

// corpusBlockKmh is the speed a leg's schedule implies.
func corpusBlockKmh(km float64, block time.Duration) float64 {
	return km / (block - corpusGroundAllowance).Hours()
}

// corpusPlausibleBlock reports whether a scheduled block time fits the
// distance flown.
func corpusPlausibleBlock(km float64, block time.Duration) bool {
	if block <= corpusGroundAllowance {
		return false
	}
	v := corpusBlockKmh(km, block)
	return v >= corpusMinKmh && v <= corpusMaxKmh
}

// corpusOffset is loc's UTC offset at t.
func corpusOffset(loc *time.Location, t time.Time) time.Duration {
	_, off := t.In(loc).Zone()
	return time.Duration(off) * time.Second
}

// corpusChange finds the instant in (a, b] at which loc's offset changes,
// assuming it changes once.
func corpusChange(loc *time.Location, a, b time.Time) time.Time {
	before := corpusOffset(loc, a)
	for b.Sub(a) > time.Minute {
		mid := a.Add(b.Sub(a) / 2)
		if corpusOffset(loc, mid) == before {
			a = mid
		} else {
			b = mid
		}
	}
	return b
}

// corpusDate is t's calendar date in loc.
func corpusDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// corpusCrossesDateLine reports whether the shorter great circle between two
// longitudes crosses the antimeridian, and eastbound if so.
func corpusCrossesDateLine(fromLon, toLon float64) (crosses, eastbound bool) {
	d := math.Mod(toLon-fromLon+540, 360) - 180
	end := fromLon + d
	return end > 180 || end < -180, d > 0
}

// corpusShift is dest's offset less home's at t, folded into (-12, 12].
func corpusShift(home, dest *time.Location, t time.Time) float64 {
	h := (corpusOffset(dest, t) - corpusOffset(home, t)).Hours()
	for h > 12 {
		h -= 24
	}
	for h <= -12 {
		h += 24
	}
	return h
}

func TestTimetablesAreRealistic(t *testing.T) {
	trips := loadTimetables(t)

	type airport struct {
		tz       string
		lat, lon float64
	}
	airports := map[string]airport{}

	var (
		dateLineEast, dateLineWest, longHaul, threeLegs, roundTrips int
		shortConn, overnightConn, stopover, longStop                int
		plusTwo, earlierDate, winter, summer, earlyMorning, late    int
		redEye, eveningWest, legOnChangeNight                       int
		years                                                       = map[int]bool{}
		spanned                                                     = map[string]bool{}
		shifts                                                      = map[int]bool{}
		offsets                                                     = map[string]map[time.Duration]bool{}
	)
	for _, ct := range trips {
		tr := ct.Trip
		home := zone(t, ct.Home)
		if err := tr.check(); err != nil {
			t.Errorf("%s: the planner refuses it: %v", tr.Name, err)
		}
		legs := tr.Legs
		first, last := legs[0], legs[len(legs)-1]
		years[first.Depart.Year()] = true
		switch first.Depart.Month() {
		case time.December, time.January, time.February:
			winter++
		case time.June, time.July, time.August:
			summer++
		}
		if len(legs) >= 3 {
			threeLegs++
		}
		if len(legs) >= 2 && first.FromTZ.String() == ct.Home && last.ToTZ.String() == ct.Home {
			roundTrips++
		}
		// The longest gap between legs is the stay; shorter ones are
		// connections, stopovers and stops on the way.
		longest, longestGap := 0, time.Duration(-1)
		for i := 1; i < len(legs); i++ {
			if g := legs[i].Depart.Sub(legs[i-1].Arrive); g > longestGap {
				longest, longestGap = i, g
			}
		}
		var maxShift float64
		for i, l := range legs {
			at := fmt.Sprintf("%s, leg %d (%s %s-%s)", tr.Name, i+1, l.Flight, l.From, l.To)
			e := ct.ends[i]

			// One airport, one zone and one place, throughout the file.
			for _, a := range []struct {
				code, tz string
				lat, lon float64
			}{{l.From, l.FromTZ.String(), e.fromLat, e.fromLon}, {l.To, l.ToTZ.String(), e.toLat, e.toLon}} {
				if prev, ok := airports[a.code]; !ok {
					airports[a.code] = airport{a.tz, a.lat, a.lon}
				} else if prev != (airport{a.tz, a.lat, a.lon}) {
					t.Errorf("%s: %s is %s at %.4f,%.4f here but %s at %.4f,%.4f elsewhere",
						at, a.code, a.tz, a.lat, a.lon, prev.tz, prev.lat, prev.lon)
				}
			}

			block := l.Arrive.Sub(l.Depart)
			if block <= 0 || block >= 20*time.Hour {
				t.Errorf("%s: a block time of %v", at, block)
				continue
			}
			km := corpusKm(e.fromLat, e.fromLon, e.toLat, e.toLon)
			if !corpusPlausibleBlock(km, block) {
				t.Errorf("%s: %.0f km in %v is %.0f km/h, outside %.0f-%.0f", at, km, block,
					corpusBlockKmh(km, block), corpusMinKmh, corpusMaxKmh)
			}
			if i > 0 {
				prev := legs[i-1]
				if l.From != prev.To {
					t.Errorf("%s: leaves %s but the previous leg landed at %s", at, l.From, prev.To)
				}
				gap := l.Depart.Sub(prev.Arrive)
				if gap < minConnection {
					t.Errorf("%s: leaves %v after the previous leg lands", at, gap)
				}
				switch {
				case gap < 3*time.Hour:
					shortConn++
				case gap >= 8*time.Hour && gap <= 12*time.Hour &&
					!corpusDate(l.Depart, l.FromTZ).Equal(corpusDate(prev.Arrive, l.FromTZ)):
					overnightConn++
				case gap >= 44*time.Hour && gap <= 80*time.Hour && i != longest:
					stopover++
				case gap >= 5*24*time.Hour && i != longest:
					longStop++
				}
			}

			if block >= 16*time.Hour {
				longHaul++
			}
			if cross, east := corpusCrossesDateLine(e.fromLon, e.toLon); cross && east {
				dateLineEast++
			} else if cross {
				dateLineWest++
			}
			days := corpusDate(l.Arrive, l.ToTZ).Sub(corpusDate(l.Depart, l.FromTZ)).Hours() / 24
			if days == 2 {
				plusTwo++
			}
			if days < 0 {
				earlierDate++
			}
			dep := l.Depart.In(l.FromTZ)
			clock := dep.Hour()*60 + dep.Minute()
			if clock >= 6*60 && clock <= 7*60+30 {
				earlyMorning++
			}
			if clock >= 23*60 {
				late++
			}
			arr := l.Arrive.In(l.ToTZ)
			westward := corpusOffset(l.ToTZ, l.Arrive) < corpusOffset(l.FromTZ, l.Depart)
			if block < 8*time.Hour && clock >= 21*60 && days == 1 && arr.Hour() >= 5 && arr.Hour() < 9 && !westward {
				redEye++
			}
			if block < 8*time.Hour && clock >= 17*60 && days == 0 && westward {
				eveningWest++
			}
			for _, z := range []*time.Location{home, l.FromTZ, l.ToTZ} {
				if corpusOffset(z, l.Depart) != corpusOffset(z, l.Arrive) {
					legOnChangeNight++
					break
				}
			}
			for _, p := range []struct {
				loc *time.Location
				at  time.Time
			}{{l.FromTZ, l.Depart}, {l.ToTZ, l.Arrive}} {
				if offsets[p.loc.String()] == nil {
					offsets[p.loc.String()] = map[time.Duration]bool{}
				}
				offsets[p.loc.String()][corpusOffset(p.loc, p.at)] = true
			}
			if s := corpusShift(home, l.ToTZ, l.Arrive); math.Abs(s) > math.Abs(maxShift) {
				maxShift = s
			}
		}
		shifts[int(math.Round(math.Abs(maxShift)))] = true

		// Which clock changes fall between leaving and getting back.
		zones := map[string]*time.Location{ct.Home: home}
		for _, l := range legs {
			zones[l.FromTZ.String()], zones[l.ToTZ.String()] = l.FromTZ, l.ToTZ
		}
		for name, z := range zones {
			if corpusOffset(z, first.Depart) == corpusOffset(z, last.Arrive) {
				continue
			}
			region, _, _ := strings.Cut(name, "/")
			spanned[fmt.Sprintf("%s %s", region, corpusChange(z, first.Depart, last.Arrive).Month())] = true
		}
	}

	type want struct {
		what     string
		got, min int
	}
	for _, w := range []want{
		{"trips", len(trips), 40},
		{"round trips", roundTrips, 15},
		{"trips of three or more legs", threeLegs, 3},
		{"legs over the date line eastbound", dateLineEast, 5},
		{"legs over the date line westbound", dateLineWest, 5},
		{"legs of 16 h or more", longHaul, 10},
		{"legs arriving two calendar days after leaving", plusTwo, 5},
		{"legs arriving on an earlier calendar date", earlierDate, 3},
		{"connections under 3 h", shortConn, 2},
		{"overnight connections of 8-12 h", overnightConn, 1},
		{"stopovers of 2-3 days", stopover, 1},
		{"stops of 5 days or more on the way", longStop, 1},
		{"trips leaving in northern winter", winter, 10},
		{"trips leaving in northern summer", summer, 10},
		{"departures between 06:00 and 07:30", earlyMorning, 2},
		{"departures at 23:00 or later", late, 3},
		{"eastbound red-eyes", redEye, 2},
		{"westbound evening flights", eveningWest, 2},
		{"legs flown across a clock change", legOnChangeNight, 3},
	} {
		if w.got < w.min {
			t.Errorf("corpus has %d %s, want at least %d", w.got, w.what, w.min)
		}
	}
	for _, y := range []int{2026, 2027} {
		if !years[y] {
			t.Errorf("no trip leaves in %d", y)
		}
	}
	for _, c := range []string{"America March", "America November", "Europe March", "Europe October", "Australia April"} {
		if !spanned[c] {
			t.Errorf("no trip spans the %s clock change", c)
		}
	}
	for h := 0; h <= 12; h++ {
		if !shifts[h] {
			t.Errorf("no trip shifts the travellers' clocks by %d h", h)
		}
	}
	for _, z := range []struct {
		name string
		off  time.Duration
	}{
		{"Asia/Kolkata", 5*time.Hour + 30*time.Minute},
		{"Asia/Kathmandu", 5*time.Hour + 45*time.Minute},
		{"Australia/Adelaide", 9*time.Hour + 30*time.Minute},
		{"Australia/Adelaide", 10*time.Hour + 30*time.Minute},
	} {
		if !offsets[z.name][z.off] {
			t.Errorf("no flight leaves or lands in %s at UTC%+v", z.name, z.off)
		}
	}
}

// The realism check catches the typos it is there for: a time an hour
// out on a short flight, a date a day out on any flight.
func TestTimetablesCatchTypos(t *testing.T) {
	for _, ct := range loadTimetables(t) {
		for i, l := range ct.Trip.Legs {
			e := ct.ends[i]
			km := corpusKm(e.fromLat, e.fromLon, e.toLat, e.toLon)
			block := l.Arrive.Sub(l.Depart)
			for _, typo := range []time.Duration{24 * time.Hour, -24 * time.Hour} {
				b := block + typo
				if b > 0 && b < 20*time.Hour && corpusPlausibleBlock(km, b) {
					t.Errorf("%s leg %d: a day's typo (%v) would pass", ct.Trip.Name, i+1, b)
				}
			}
			if block < 3*time.Hour {
				for _, typo := range []time.Duration{time.Hour, -time.Hour} {
					if corpusPlausibleBlock(km, block+typo) {
						t.Errorf("%s leg %d: an hour's typo (%v) would pass", ct.Trip.Name, i+1, block+typo)
					}
				}
			}
		}
	}
}
