package syncproto

import (
	_ "embed" // zones.txt
	"strings"
	"sync"
	"time"

	// Every zone's rules go into the binary, so a bare device (a travel
	// router, a container without /usr/share/zoneinfo) knows every zone.
	_ "time/tzdata"
)

//go:generate go run gen_zones.go

// zoneList is the sorted IANA zone names of the Go toolchain's time zone
// database, one a line. Which names are valid is decided by this list and
// not by the host's database, so every hub accepts the same events.
//
//go:embed zones.txt
var zoneList string

// ValidZone reports whether name is an IANA time zone name that every hub
// knows, such as "Europe/London" or "UTC". "Local" and "" are not valid:
// they mean different places on different devices.
func ValidZone(name string) bool {
	_, ok := zoneNames()[name]
	return ok
}

// Zones lists every valid zone name, sorted.
func Zones() []string {
	return strings.Fields(zoneList)
}

// LoadZone returns the location for a valid zone name.
func LoadZone(name string) (*time.Location, error) {
	if !ValidZone(name) {
		return nil, &Error{Code: CodeInvalid, Rule: "unknown time zone " + quote(name)}
	}
	return time.LoadLocation(name)
}

// zoneName returns the zone name spelled s, sharing the memory of the
// embedded list when s is a valid name.
func zoneName(s []byte) string {
	if name, ok := zoneNames()[string(s)]; ok {
		return name
	}
	return string(s)
}

// zoneNames maps every valid zone name to itself, built on first use and
// never changed.
var zoneNames = sync.OnceValue(func() map[string]string {
	names := strings.Fields(zoneList)
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
})
