package circadian

import (
	"math"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// Published almanac times. Each source gives times to the minute for a
// stated position and zone; the computed instant must be within two
// minutes.
//
//   - London: timeanddate.com, "London, England, United Kingdom — Sunrise,
//     Sunset, and Daylength, December 2019" (timeanddate.com/sun/uk/london,
//     month 12, year 2019), the row for 6 December. Central London,
//     51.508°N 0.128°W.
//   - San Francisco: U.S. Naval Observatory, Astronomical Applications
//     Dept., "Rise and Set for the Sun for 2012", San Francisco,
//     California, W122°26′ N37°46′, Pacific Standard Time.
//   - Sydney: Sydney Observatory, "Summer solstice 2008 and the earliest
//     sunrise and the latest sunset" (N. Lomb, 17 December 2008), from the
//     2009 Australian Sky Guide: the sun rises at 5:37 am, the earliest of
//     the year, from 1 to 10 December 2008; the latest sunset is 20:10,
//     from 2 to 12 January 2009; on the solstice (21 December 2008) the sun
//     is up for 14 h 25 min. Sydney Observatory, 33°51′35″S 151°12′17″E.
//   - Tromsø: U.S. Naval Observatory, "Sun and Moon Data for One Day",
//     Tromsø (longitude E19.0, latitude N69.5), Universal Time + 1 h, as
//     quoted at answers.com ("How many hours of daylight in north Norway in
//     April"): on 1 April 2014 civil twilight begins 03:46, sunrise 04:50,
//     transit 11:48, sunset 18:49, civil twilight ends 19:53; on 17 May the
//     sun rises at 00:29 and sets at 23:06; on 18 May it rises at 00:13 and
//     sets again 69 days later, at 23:20 on 25 July.
//   - Singapore: H. Aslaksen, "Which Day Does the Sun Rise Earliest in
//     Singapore?" (National University of Singapore): sunrise is earliest,
//     6:46 am, on 1 November and latest, 7:17 am, on 9 February; sunset is
//     earliest, 6:50 pm, on 5 November and latest, 7:21 pm, on 13 February.
//     The page names no year (the times move by under a minute from year
//     to year); 1°17′N 103°50′E.
var almanac = []struct {
	name  string
	place Place
	zone  string // IANA name, or "UTC±h" for a fixed offset
	date  string // the local date asked for
	event string // dawn, rise, noon, set, dusk
	want  string // local clock time, "15:04"; on date unless prefixed "MM-DD "
}{
	{"London", Place{51.508, -0.128}, "Europe/London", "2019-12-06", "dawn", "07:10"},
	{"London", Place{51.508, -0.128}, "Europe/London", "2019-12-06", "rise", "07:49"},
	{"London", Place{51.508, -0.128}, "Europe/London", "2019-12-06", "noon", "11:51"},
	{"London", Place{51.508, -0.128}, "Europe/London", "2019-12-06", "set", "15:52"},
	{"London", Place{51.508, -0.128}, "Europe/London", "2019-12-06", "dusk", "16:32"},

	{"San Francisco", sanFrancisco, "UTC-8", "2012-12-06", "rise", "07:11"},
	{"San Francisco", sanFrancisco, "UTC-8", "2012-12-06", "set", "16:51"},
	{"San Francisco", sanFrancisco, "UTC-8", "2012-06-21", "rise", "04:48"},
	{"San Francisco", sanFrancisco, "UTC-8", "2012-06-21", "set", "19:35"},

	{"Sydney", sydney, "Australia/Sydney", "2008-12-01", "rise", "05:37"},
	{"Sydney", sydney, "Australia/Sydney", "2008-12-06", "rise", "05:37"},
	{"Sydney", sydney, "Australia/Sydney", "2008-12-10", "rise", "05:37"},
	{"Sydney", sydney, "Australia/Sydney", "2009-01-02", "set", "20:10"},
	{"Sydney", sydney, "Australia/Sydney", "2009-01-07", "set", "20:10"},
	{"Sydney", sydney, "Australia/Sydney", "2009-01-12", "set", "20:10"},

	{"Tromsø", tromsoUSNO, "UTC+1", "2014-04-01", "dawn", "03:46"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-04-01", "rise", "04:50"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-04-01", "noon", "11:48"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-04-01", "set", "18:49"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-04-01", "dusk", "19:53"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-05-17", "rise", "00:29"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-05-17", "set", "23:06"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-05-18", "rise", "00:13"},
	{"Tromsø", tromsoUSNO, "UTC+1", "2014-07-25", "set", "23:20"},

	{"Singapore", singapore, "Asia/Singapore", "2025-11-01", "rise", "06:46"},
	{"Singapore", singapore, "Asia/Singapore", "2026-02-09", "rise", "07:17"},
	{"Singapore", singapore, "Asia/Singapore", "2025-11-05", "set", "18:50"},
	{"Singapore", singapore, "Asia/Singapore", "2026-02-13", "set", "19:21"},
}

var (
	sanFrancisco = Place{37 + 46.0/60, -(122 + 26.0/60)}
	sydney       = Place{-(33 + 51.0/60 + 35.0/3600), 151 + 12.0/60 + 17.0/3600}
	tromsoUSNO   = Place{69.5, 19.0}
	tromso       = Place{69 + 39.0/60, 18 + 57.0/60}
	singapore    = Place{1 + 17.0/60, 103 + 50.0/60}
)

func sunZone(t *testing.T, name string) *time.Location {
	t.Helper()
	switch name {
	case "UTC-8":
		return time.FixedZone(name, -8*3600)
	case "UTC+1":
		return time.FixedZone(name, 3600)
	}
	loc, err := syncproto.LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func sunDay(t *testing.T, zoneName, date string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", date, sunZone(t, zoneName))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func event(d Daylight, name string) time.Time {
	switch name {
	case "dawn":
		return d.Dawn
	case "rise":
		return d.Rise
	case "noon":
		return d.Noon
	case "set":
		return d.Set
	case "dusk":
		return d.Dusk
	}
	panic("no event " + name)
}

func TestDaylightAgainstAlmanacs(t *testing.T) {
	for _, c := range almanac {
		day := sunDay(t, c.zone, c.date)
		want, err := time.ParseInLocation("2006-01-02 15:04", c.date+" "+c.want, day.Location())
		if err != nil {
			t.Fatal(err)
		}
		got := event(c.place.Daylight(day), c.event)
		if got.IsZero() {
			t.Errorf("%s %s %s: no event, want %s", c.name, c.date, c.event, c.want)
			continue
		}
		diff := got.Sub(want)
		if diff < -2*time.Minute || diff > 2*time.Minute {
			t.Errorf("%s %s %s: got %s, want %s (%+v)", c.name, c.date, c.event, got.Format("15:04:05"), c.want, diff)
			continue
		}
		t.Logf("%-13s %s %-4s published %s computed %s (%+.1f min)", c.name, c.date, c.event, c.want, got.Format("15:04:05"), diff.Minutes())
	}
}

// Sydney Observatory: 14 h 25 min from sunrise to sunset on the December
// solstice of 2008 (the minute it is given to).
func TestSydneySolsticeDayLength(t *testing.T) {
	d := sydney.Daylight(sunDay(t, "Australia/Sydney", "2008-12-21"))
	got := d.Set.Sub(d.Rise)
	want := 14*time.Hour + 25*time.Minute
	if diff := got - want; diff < -2*time.Minute || diff > 2*time.Minute {
		t.Errorf("day length %v, want %v", got, want)
	}
	t.Logf("Sydney 2008-12-21 day length: published 14h25m computed %v", got)
}

// timeanddate.com gives the sun 16.1° up at London's solar noon on
// 6 December 2019 (see the almanac table).
func TestNoonElevation(t *testing.T) {
	d := Place{51.508, -0.128}.Daylight(sunDay(t, "Europe/London", "2019-12-06"))
	if math.Abs(d.NoonElevation-16.1) > 0.15 {
		t.Errorf("noon elevation %.2f°, want 16.1°", d.NoonElevation)
	}
	t.Logf("London 2019-12-06 noon elevation: published 16.1° computed %.2f°", d.NoonElevation)
}

func TestPolarDayAndNight(t *testing.T) {
	// USNO: in 2014 the sun rose at Tromsø at 00:13 on 18 May and did not
	// set again until 23:20 on 25 July (the almanac table has both times).
	if d := tromsoUSNO.Daylight(sunDay(t, "UTC+1", "2014-05-18")); d.Rise.IsZero() || !d.Set.IsZero() || d.PolarDay() || d.PolarNight() {
		t.Errorf("Tromsø 18 May 2014: want a sunrise and no sunset, got %+v", d)
	}
	if d := tromsoUSNO.Daylight(sunDay(t, "UTC+1", "2014-06-21")); !d.PolarDay() || d.PolarNight() || !d.Dawn.IsZero() || !d.Dusk.IsZero() {
		t.Errorf("Tromsø 21 June 2014: want polar day, got %+v", d)
	}
	if d := tromsoUSNO.Daylight(sunDay(t, "UTC+1", "2014-07-25")); !d.Rise.IsZero() || d.Set.IsZero() {
		t.Errorf("Tromsø 25 July 2014: want a sunset and no sunrise, got %+v", d)
	}

	// Wikipedia, "Tromsø" (Light and darkness): the sun stays below the
	// horizon from about 26 November to 15 January, but twilight gives
	// some daylight around midday even at midwinter.
	oslo := "Europe/Oslo"
	d := tromso.Daylight(sunDay(t, oslo, "2025-12-06"))
	if !d.PolarNight() || d.PolarDay() || !d.Rise.IsZero() || !d.Set.IsZero() {
		t.Errorf("Tromsø 6 December: want polar night, got %+v", d)
	}
	if d.Dawn.IsZero() || d.Dusk.IsZero() || !d.Dawn.Before(d.Noon) || !d.Noon.Before(d.Dusk) {
		t.Errorf("Tromsø 6 December: want civil twilight around noon, got %+v", d)
	}
	if d.NoonElevation >= SunriseElevation || d.NoonElevation <= CivilElevation {
		t.Errorf("Tromsø 6 December: noon elevation %.2f°", d.NoonElevation)
	}
	t.Logf("Tromsø 2025-12-06 (Wikipedia: polar night 26 Nov–15 Jan): polar night, civil twilight %s–%s, sun %.2f° at noon",
		d.Dawn.Format("15:04"), d.Dusk.Format("15:04"), d.NoonElevation)

	// Near the pole in midwinter even civil twilight does not come.
	if d := (Place{89, 0}).Daylight(sunDay(t, "UTC", "2025-12-21")); !d.PolarNight() || !d.Dawn.IsZero() || !d.Dusk.IsZero() {
		t.Errorf("89°N at the solstice: %+v", d)
	}
	if d := (Place{-89, 0}).Daylight(sunDay(t, "UTC", "2025-12-21")); !d.PolarDay() {
		t.Errorf("89°S at the solstice: %+v", d)
	}
}

// The date line: a day is asked for by its local date, and the answer
// does not depend on which side of the line a place's zone puts it.
func TestDaylightAcrossTheDateLine(t *testing.T) {
	// Kiritimati keeps UTC+14 at 157°W: its solar noon comes after
	// midday, on the local date asked for. Honolulu's zone is 24 hours
	// behind, so its 5 December is the same day.
	kiritimati := Place{1.87, -157.4}
	k := kiritimati.Daylight(sunDay(t, "Pacific/Kiritimati", "2025-12-06"))
	h := kiritimati.Daylight(sunDay(t, "Pacific/Honolulu", "2025-12-05"))
	for _, e := range []string{"dawn", "rise", "noon", "set", "dusk"} {
		kt := event(k, e)
		if y, m, d := kt.Date(); y != 2025 || m != 12 || d != 6 {
			t.Errorf("Kiritimati %s on %s, want 6 December local", e, kt)
		}
		if !kt.Equal(event(h, e)) {
			t.Errorf("Kiritimati %s: %s asked as 6 Dec +14, %s asked as 5 Dec −10", e, kt, event(h, e))
		}
	}
	if hr := k.Noon.Hour(); hr != 12 {
		t.Errorf("Kiritimati solar noon at %s", k.Noon.Format("15:04"))
	}

	// Two points a few hundred metres apart on either side of 180°.
	fiji := sunDay(t, "Pacific/Fiji", "2025-12-06")
	east, west := Place{-16.5, 179.998}.Daylight(fiji), Place{-16.5, -179.998}.Daylight(fiji)
	for _, e := range []string{"dawn", "rise", "noon", "set", "dusk"} {
		if d := event(east, e).Sub(event(west, e)); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%s differs by %v across 180°", e, d)
		}
	}
	if y, m, d := east.Rise.Date(); y != 2025 || m != 12 || d != 6 {
		t.Errorf("Fiji sunrise on %s", east.Rise)
	}
}

func TestDaylightIsSelfConsistent(t *testing.T) {
	for _, c := range almanac {
		d := c.place.Daylight(sunDay(t, c.zone, c.date))
		for _, e := range []struct {
			name string
			at   time.Time
			h    float64
		}{{"rise", d.Rise, SunriseElevation}, {"set", d.Set, SunriseElevation}, {"dawn", d.Dawn, CivilElevation}, {"dusk", d.Dusk, CivilElevation}} {
			if e.at.IsZero() {
				continue
			}
			if got := c.place.Elevation(e.at); math.Abs(got-e.h) > 0.02 {
				t.Errorf("%s %s: elevation %.3f° at %s, want %.3f°", c.name, c.date, got, e.name, e.h)
			}
		}
		// The transit is the day's highest point, but for the sun's own
		// drift in declination over the minutes either side.
		for _, off := range []time.Duration{-10 * time.Minute, -time.Minute, time.Minute, 10 * time.Minute} {
			if c.place.Elevation(d.Noon.Add(off)) > d.NoonElevation+0.001 {
				t.Errorf("%s %s: the sun is higher %v from noon", c.name, c.date, off)
			}
		}
		// Any time of the local date asks for the same day.
		if late := c.place.Daylight(sunDay(t, c.zone, c.date).Add(23*time.Hour + 59*time.Minute)); !sameDaylight(late, d) {
			t.Errorf("%s %s: the day depends on the time of day asked:\n%+v\n%+v", c.name, c.date, late, d)
		}
	}
}

func sameDaylight(a, b Daylight) bool {
	for _, e := range []string{"dawn", "rise", "noon", "set", "dusk"} {
		if !event(a, e).Equal(event(b, e)) {
			return false
		}
	}
	return a.NoonElevation == b.NoonElevation
}

func TestUnknownPlace(t *testing.T) {
	now := time.Date(2025, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, p := range []Place{{}, {Lat: 91}, {Lon: -181}, {Lat: math.NaN(), Lon: 1}} {
		if p.Known() {
			t.Errorf("%+v is known", p)
		}
		if !math.IsNaN(p.Elevation(now)) || !math.IsNaN(p.Lux(now)) {
			t.Errorf("%+v: elevation %v, lux %v; want NaN", p, p.Elevation(now), p.Lux(now))
		}
		if d := p.Daylight(now); d != (Daylight{}) || d.PolarDay() || d.PolarNight() {
			t.Errorf("%+v: %+v", p, d)
		}
	}
	for _, p := range []Place{{Lat: 0.001}, {Lon: 180}, {Lat: -90, Lon: 0.5}} {
		if !p.Known() {
			t.Errorf("%+v is not known", p)
		}
	}
}

func TestOutdoorLux(t *testing.T) {
	for _, c := range []struct {
		elevation, lo, hi float64
	}{
		{90, 20000, 60000},       // high summer sun under average cloud
		{60, 20000, 50000},       //
		{16, 1000, 10000},        // a winter midday at 51°N
		{0, 100, 1000},           // sunrise: a few hundred lux
		{-3, 5, 100},             // inside civil twilight
		{CivilElevation, 0.3, 5}, // the end of civil twilight
		{-12, 1e-4, 0.01},        // nautical twilight ends
		{-18.5, 0, 0},            // night
	} {
		if got := OutdoorLux(c.elevation); got < c.lo || got > c.hi {
			t.Errorf("OutdoorLux(%v) = %.4g, want %v–%v", c.elevation, got, c.lo, c.hi)
		}
	}
	if !math.IsNaN(OutdoorLux(math.NaN())) {
		t.Error("OutdoorLux(NaN) is not NaN")
	}
	// The fit is continuous enough, and never falls as the sun climbs.
	prev := OutdoorLux(-18)
	for e := -17.99; e <= 90; e += 0.01 {
		got := OutdoorLux(e)
		if got < prev*0.995 || got > prev*1.05 {
			t.Fatalf("OutdoorLux jumps from %.4g to %.4g at %.2f°", prev, got, e)
		}
		prev = got
	}
}

func BenchmarkDaylight(b *testing.B) {
	day := time.Date(2025, 12, 6, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		Place{51.5, -0.1}.Daylight(day)
	}
}
