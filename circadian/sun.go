package circadian

// The sun: where it is, when it rises and sets, and how much light it puts
// on the ground.
//
// Solar position follows the NOAA Solar Calculator (NOAA Global Monitoring
// Laboratory, "General Solar Position Calculations" and its spreadsheet,
// gml.noaa.gov/grad/solcalc/calcdetails.html), which implements the
// low-accuracy solar coordinates and equation of time of Jean Meeus,
// Astronomical Algorithms (2nd ed., Willmann-Bell, 1998), chapters 25 and
// 28. With T the Julian centuries of UT since J2000.0,
//
//	L0 = 280.46646 + 36000.76983 T + 0.0003032 T²        mean longitude
//	M  = 357.52911 + 35999.05029 T − 0.0001537 T²        mean anomaly
//	e  = 0.016708634 − 0.000042037 T − 0.0000001267 T²   orbital eccentricity
//	C  = (1.914602 − 0.004817 T − 0.000014 T²) sin M
//	     + (0.019993 − 0.000101 T) sin 2M + 0.000289 sin 3M   equation of centre
//	Ω  = 125.04 − 1934.136 T
//	λ  = L0 + C − 0.00569 − 0.00478 sin Ω                 apparent longitude
//	ε  = 23°26′21.448″ − 46.815″ T − 0.00059″ T² + 0.001813″ T³ + 0.00256° cos Ω
//	δ  = asin(sin ε sin λ)                                declination
//	y  = tan²(ε/2)
//	E  = 4·deg(y sin 2L0 − 2e sin M + 4ey sin M cos 2L0 − ½y² sin 4L0 − 1.25e² sin 2M)
//	                                                      equation of time, minutes
//	H  = 15°·(UT hours − 12) + E/4 + longitude            hour angle, degrees
//	sin h = sin φ sin δ + cos φ cos δ cos H               elevation h at latitude φ
//
// NOAA gives this as good to about a minute for sunrise and sunset within
// ±72° of latitude, and less good nearer the poles, where the sun crosses
// the horizon at a shallow angle. The elevation here is geometric: the
// centre of the sun, without atmospheric refraction.
//
// Sunrise and sunset are the instants the sun's upper limb touches a level
// horizon under standard refraction: the centre at −0°50′ (34′ of
// refraction plus a 16′ semi-diameter). Civil twilight runs while the
// centre is between that and 6° below the horizon. Both definitions are the
// U.S. Naval Observatory's ("Rise, Set, and Twilight Definitions") and are
// the ones almanacs tabulate.

import (
	"math"
	"time"
)

// SunriseElevation is the elevation of the sun's centre, in degrees, at
// sunrise and sunset: the upper limb on the horizon under standard
// refraction.
const SunriseElevation = -50.0 / 60

// CivilElevation is the elevation of the sun's centre, in degrees, at civil
// dawn and dusk.
const CivilElevation = -6.0

// Place is a point on the Earth: Lat in degrees north (−90 to 90), Lon in
// degrees east (−180 to 180).
//
// The zero Place means "position unknown" (nobody plans a trip to 0°N 0°E,
// which is open sea). Known reports whether a Place can be used; for one
// that cannot, Elevation and Lux return NaN and Daylight returns the zero
// Daylight. Callers check Known and fall back on an assumption of their own.
type Place struct {
	Lat, Lon float64
}

// Known reports whether p is a position: not the zero Place, and with
// latitude and longitude in range (NaN is not).
func (p Place) Known() bool {
	return p != Place{} && p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180
}

// Elevation returns the sun's elevation above the horizon at p at instant
// t, in degrees (negative below the horizon); NaN if p is not Known.
func (p Place) Elevation(t time.Time) float64 {
	if !p.Known() {
		return math.NaN()
	}
	return p.elevation(julianDay(t))
}

// Lux returns the outdoor illuminance at p at instant t: OutdoorLux of the
// sun's elevation. NaN if p is not Known.
func (p Place) Lux(t time.Time) float64 {
	return OutdoorLux(p.Elevation(t))
}

// Daylight is the sun's course over one day at a place. Times are instants
// in the location of the day asked for.
//
// The day runs from the lower transit of the sun (solar midnight) before
// Noon to the one after it, so each event belongs to the solar day it
// bounds even where it falls on the neighbouring calendar date, as a
// sunset after midnight does in the far north in early summer.
type Daylight struct {
	// Noon is solar noon, the upper transit: the sun at its highest (to a
	// thousandth of a degree; its declination drifts meanwhile).
	Noon time.Time
	// NoonElevation is the sun's elevation at Noon, in degrees.
	NoonElevation float64
	// Rise and Set are sunrise and sunset (SunriseElevation). Either is
	// zero when the sun does not cross the horizon in that half of the
	// day: both, in polar day and polar night; one, on the day polar
	// day begins or ends.
	Rise, Set time.Time
	// Dawn and Dusk are the start of morning and the end of evening civil
	// twilight (CivilElevation), zero in the same way.
	Dawn, Dusk time.Time
}

// PolarNight reports whether the sun stays below the horizon all day.
func (d Daylight) PolarNight() bool {
	return !d.Noon.IsZero() && d.Rise.IsZero() && d.Set.IsZero() && d.NoonElevation < SunriseElevation
}

// PolarDay reports whether the sun stays above the horizon all day.
func (d Daylight) PolarDay() bool {
	return !d.Noon.IsZero() && d.Rise.IsZero() && d.Set.IsZero() && d.NoonElevation >= SunriseElevation
}

// Daylight returns the sun's day at p on the calendar date of day in day's
// location: the solar day whose noon is nearest to 12:00 local time that
// date. Pass a time in the place's own zone: that is what makes the date
// the local one, on either side of the date line. The zero Daylight if p is
// not Known.
func (p Place) Daylight(day time.Time) Daylight {
	if !p.Known() {
		return Daylight{}
	}
	loc := day.Location()
	y, m, dd := day.Date()
	noon := p.transit(julianDay(time.Date(y, m, dd, 12, 0, 0, 0, loc)), 0)
	before := p.transit(noon-0.5, 180)
	after := p.transit(noon+0.5, 180)
	d := Daylight{Noon: instant(noon, loc), NoonElevation: p.elevation(noon)}
	d.Rise = p.crossing(before, noon, SunriseElevation, loc)
	d.Set = p.crossing(noon, after, SunriseElevation, loc)
	d.Dawn = p.crossing(before, noon, CivilElevation, loc)
	d.Dusk = p.crossing(noon, after, CivilElevation, loc)
	return d
}

// OutdoorLux returns the illuminance, in lux, on level ground outdoors
// under an overcast-to-average sky, with the sun at elevation degrees.
//
// The model is the U.S. Naval Observatory's fit of the illuminance from sun
// and sky on a horizontal surface (Brown, "Natural Illumination Charts",
// U.S. Navy Bureau of Ships report 374-1, 1952), as given in Janiczek &
// DeYoung, "Computer Programs for Sun and Moon Illuminance With Contingent
// Tables and Diagrams", USNO Circular 171 (1987):
//
//	log10 E = a0 + a1 x + a2 x² + a3 x³,  x = elevation/90°
//
//	elevation        a0      a1       a2        a3
//	 20° to 90°     3.74    3.97    −4.07      1.47
//	  5° to 20°     3.05   13.28   −45.98     64.33
//	−0.8° to 5°     2.88   22.26  −207.64   1034.30
//	 −5° to −0.8°   2.88   21.81  −258.11   −858.36
//	−12° to −5°     2.70   12.17  −431.69  −1899.83
//	−18° to −12°   13.84  262.72  1447.42   2797.93
//
// for an average clear sky, divided by the circular's sky factor for
// "direct rays of the sun obstructed by average clouds", 3 (it uses 1 for
// a clear sky, 2 for thin cloud, 10 for dark stratus). Below −18° it
// returns 0. So: about 34,000 lx with the sun 60° up, 7,000 lx at 16° (a
// London noon in December), 250 lx at sunrise, 1 lx at the end of civil
// twilight. The fit is defined on the apparent (refracted) elevation; the
// geometric elevation used here differs by at most 0.6° and only within a
// degree of the horizon, well inside the spread of real skies. NaN for NaN.
func OutdoorLux(elevation float64) float64 {
	const sky = 3 // average clouds
	var a [4]float64
	switch {
	case math.IsNaN(elevation):
		return math.NaN()
	case elevation < -18:
		return 0
	case elevation < -12:
		a = [4]float64{13.84, 262.72, 1447.42, 2797.93}
	case elevation < -5:
		a = [4]float64{2.70, 12.17, -431.69, -1899.83}
	case elevation < -0.8:
		a = [4]float64{2.88, 21.81, -258.11, -858.36}
	case elevation < 5:
		a = [4]float64{2.88, 22.26, -207.64, 1034.30}
	case elevation < 20:
		a = [4]float64{3.05, 13.28, -45.98, 64.33}
	default:
		a = [4]float64{3.74, 3.97, -4.07, 1.47}
	}
	x := min(elevation, 90) / 90
	return math.Pow(10, a[0]+x*(a[1]+x*(a[2]+x*a[3]))) / sky
}

const rad = math.Pi / 180

// julianDay returns the Julian day number of instant t (UT).
func julianDay(t time.Time) float64 {
	return float64(t.Unix())/86400 + float64(t.Nanosecond())/86400e9 + 2440587.5
}

// instant returns the time of Julian day jd, to the second, in loc.
func instant(jd float64, loc *time.Location) time.Time {
	s := math.Round((jd - 2440587.5) * 86400)
	return time.Unix(int64(s), 0).In(loc)
}

// sun returns the sun's declination (radians) and the equation of time
// (minutes) at Julian day jd.
func sun(jd float64) (decl, eqTime float64) {
	t := (jd - 2451545) / 36525
	l0 := math.Mod(280.46646+t*(36000.76983+t*0.0003032), 360) * rad
	m := (357.52911 + t*(35999.05029-t*0.0001537)) * rad
	e := 0.016708634 - t*(0.000042037+t*0.0000001267)
	c := math.Sin(m)*(1.914602-t*(0.004817+t*0.000014)) +
		math.Sin(2*m)*(0.019993-t*0.000101) +
		math.Sin(3*m)*0.000289
	omega := (125.04 - 1934.136*t) * rad
	lambda := (l0/rad + c - 0.00569 - 0.00478*math.Sin(omega)) * rad
	eps0 := 23 + (26+(21.448-t*(46.815+t*(0.00059-t*0.001813)))/60)/60
	eps := (eps0 + 0.00256*math.Cos(omega)) * rad
	decl = math.Asin(math.Sin(eps) * math.Sin(lambda))
	y := math.Tan(eps/2) * math.Tan(eps/2)
	eqTime = 4 / rad * (y*math.Sin(2*l0) - 2*e*math.Sin(m) + 4*e*y*math.Sin(m)*math.Cos(2*l0) -
		0.5*y*y*math.Sin(4*l0) - 1.25*e*e*math.Sin(2*m))
	return decl, eqTime
}

// hourAngle returns the sun's hour angle at p at Julian day jd, in degrees
// in [−180, 180): 0 at solar noon, increasing through the day.
func (p Place) hourAngle(jd, eqTime float64) float64 {
	ut := math.Mod(jd+0.5, 1) * 360 // degrees of the UT day since midnight
	return wrap(ut + eqTime/4 + p.Lon - 180)
}

// elevation is Elevation for a Julian day.
func (p Place) elevation(jd float64) float64 {
	decl, eqTime := sun(jd)
	h := p.hourAngle(jd, eqTime) * rad
	phi := p.Lat * rad
	s := math.Sin(phi)*math.Sin(decl) + math.Cos(phi)*math.Cos(decl)*math.Cos(h)
	return math.Asin(max(-1, min(1, s))) / rad
}

// transit returns the Julian day, nearest jd, at which the sun's hour angle
// at p is target degrees: 0 for solar noon, 180 for solar midnight.
func (p Place) transit(jd, target float64) float64 {
	for range 4 {
		_, eqTime := sun(jd)
		jd -= wrap(p.hourAngle(jd, eqTime)-target) / 360
	}
	return jd
}

// crossing returns the instant between Julian days a and b at which the
// sun's elevation at p passes h, or the zero time if it stays on one side.
// Between a transit and the next the elevation is monotonic, so there is at
// most one such instant; bisection finds it to well under a second.
func (p Place) crossing(a, b, h float64, loc *time.Location) time.Time {
	fa := p.elevation(a) - h
	if (fa < 0) == (p.elevation(b)-h < 0) {
		return time.Time{}
	}
	for b-a > 0.1/86400 {
		mid := (a + b) / 2
		if (p.elevation(mid)-h < 0) == (fa < 0) {
			a = mid
		} else {
			b = mid
		}
	}
	return instant((a+b)/2, loc)
}

// wrap reduces an angle in degrees to [−180, 180).
func wrap(deg float64) float64 {
	return deg - 360*math.Floor((deg+180)/360)
}
