// Package importer turns a sleep-tracker export into Zoner events: sleep
// events (nights and naps) and light_exposure events, for one member of one
// family, ready to be written through the hub.
//
// It reads four kinds of file, detected from their first bytes:
//
//   - Apple Health: export.zip (holding apple_health_export/export.xml) or
//     export.xml itself. Sleep-analysis records whose value is an asleep
//     stage are merged into one sleep per night; time-in-daylight samples
//     become light_exposure events (outdoor_daylight).
//   - Fitbit (Google Takeout): a sleep-YYYY-MM-DD.json array of sleep logs
//     with local times; the main sleep is a night, any other log a nap.
//   - Oura: JSON with a "sleep" (export) or "data" (API v2) array of sleep
//     periods with bedtime_start and bedtime_end.
//   - CSV: a header start,end,kind (kind sleep or nap), RFC 3339 times or
//     local times in Options.TZ.
//
// The package is pure: it reads only the io.Reader or io.ReaderAt it is
// given, streams it (encoding/xml tokens, encoding/json tokens,
// encoding/csv rows), and keeps only what it will return, bounded by
// Options.MaxEvents. It returns either every event of the file, each
// validated by syncproto, or an error naming the line or record at fault
// and no events: a file imports whole or not at all.
//
// Re-importing a file gives identical events. The event id is a UUIDv7
// (the event contract requires version 7) whose time bits are the record's
// start and whose other bits come from a SHA-1 over the family, the member,
// the format and the record's stable key (uuid.NewSHA1); the hlc is the
// record's end with counter 0000. The hub answers an event it already holds
// with the same content as a retry, so importing the same file twice stores
// each event once.
package importer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/zoner-family/zoner/syncproto"
)

// Format names a kind of export.
type Format string

const (
	AppleHealth Format = "apple-health"
	Fitbit      Format = "fitbit"
	Oura        Format = "oura"
	CSV         Format = "csv"
)

// DefaultMaxEvents bounds the events one import returns when
// Options.MaxEvents is zero: about 27 years of nights, naps and daylight.
const DefaultMaxEvents = 50_000

// maxSegments bounds the Apple sleep stages held before they are merged.
const maxSegments = 1_000_000

// Options says whose history a file is and how to read it.
type Options struct {
	FamilyID uuid.UUID
	MemberID uuid.UUID
	// TZ is the IANA zone the events are tagged with (the envelope's tz),
	// and the zone of local times (Fitbit, CSV without offsets).
	TZ string
	// Origin is the envelope's origin; "import:<format>" when empty.
	Origin string
	// Format skips detection when set.
	Format Format
	// MaxEvents bounds the events returned; DefaultMaxEvents when zero.
	MaxEvents int
}

// Result is a successful import.
type Result struct {
	Format Format
	// Events are valid sleep and light_exposure events, ordered by start.
	Events              []syncproto.Envelope
	Nights, Naps, Light int
	// Skipped counts records read but not imported: other record types,
	// in-bed and awake stages, Oura rest periods, zero daylight.
	Skipped int
}

// Error is a file that cannot be imported, naming where.
type Error struct {
	Format Format
	// Where is "line 12", "record 3", and the like.
	Where string
	Err   error
}

func (e *Error) Error() string {
	if e.Format == "" {
		return fmt.Sprintf("import: %v; nothing was imported", e.Err)
	}
	if e.Where == "" {
		return fmt.Sprintf("import %s: %v; nothing was imported", e.Format, e.Err)
	}
	return fmt.Sprintf("import %s: %s: %v; nothing was imported", e.Format, e.Where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownFormat is a file none of the readers recognises.
var ErrUnknownFormat = errors.New("not an Apple Health, Fitbit, Oura or start,end,kind CSV export")

// Import reads a whole export given as an io.ReaderAt, which a zip needs;
// anything else is streamed through ImportReader.
func Import(r io.ReaderAt, size int64, opt Options) (*Result, error) {
	head := make([]byte, 4)
	n, _ := r.ReadAt(head, 0)
	if bytes.Equal(head[:n], []byte("PK\x03\x04")) && (opt.Format == "" || opt.Format == AppleHealth) {
		b, err := newBuilder(AppleHealth, opt)
		if err != nil {
			return nil, err
		}
		xr, closeFn, err := openAppleZip(r, size)
		if err != nil {
			return nil, &Error{Format: AppleHealth, Err: err}
		}
		defer closeFn()
		return b.run(func() error { return readApple(xr, b) })
	}
	return ImportReader(io.NewSectionReader(r, 0, size), opt)
}

// ImportReader streams an export that is not a zip.
func ImportReader(r io.Reader, opt Options) (*Result, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	f := opt.Format
	if f == "" {
		var err error
		if f, err = detect(br); err != nil {
			return nil, err
		}
	}
	b, err := newBuilder(f, opt)
	if err != nil {
		return nil, err
	}
	switch f {
	case AppleHealth:
		return b.run(func() error { return readApple(br, b) })
	case Fitbit:
		return b.run(func() error { return readFitbit(br, b) })
	case Oura:
		return b.run(func() error { return readOura(br, b) })
	case CSV:
		return b.run(func() error { return readCSV(br, b) })
	}
	return nil, &Error{Format: f, Err: ErrUnknownFormat}
}

// detect peeks at the first bytes: XML is Apple, a JSON array Fitbit, a
// JSON object Oura, a start,end,kind header CSV.
func detect(br *bufio.Reader) (Format, error) {
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "", &Error{Err: errors.New("a zip needs Import (an io.ReaderAt), not ImportReader")}
	case bytes.HasPrefix(head, []byte("<")):
		return AppleHealth, nil
	case bytes.HasPrefix(head, []byte("[")):
		return Fitbit, nil
	case bytes.HasPrefix(head, []byte("{")):
		return Oura, nil
	case bytes.HasPrefix(bytes.ToLower(head), []byte("start,")):
		return CSV, nil
	}
	return "", &Error{Err: ErrUnknownFormat}
}

// builder turns records into validated events and keeps them, bounded.
type builder struct {
	format Format
	opt    Options
	loc    *time.Location
	res    Result
	seen   map[uuid.UUID]bool
}

func newBuilder(f Format, opt Options) (*builder, error) {
	if opt.FamilyID == uuid.Nil || opt.MemberID == uuid.Nil {
		return nil, &Error{Format: f, Err: errors.New("a family and a member are needed")}
	}
	loc, err := syncproto.LoadZone(opt.TZ)
	if err != nil {
		return nil, &Error{Format: f, Err: fmt.Errorf("time zone %q is not an IANA zone", opt.TZ)}
	}
	if opt.Origin == "" {
		opt.Origin = "import:" + string(f)
	}
	if opt.MaxEvents <= 0 {
		opt.MaxEvents = DefaultMaxEvents
	}
	return &builder{format: f, opt: opt, loc: loc, res: Result{Format: f}, seen: map[uuid.UUID]bool{}}, nil
}

func (b *builder) run(read func() error) (*Result, error) {
	if err := read(); err != nil {
		var ie *Error
		if errors.As(err, &ie) {
			ie.Format = b.format
			return nil, ie
		}
		return nil, &Error{Format: b.format, Err: err}
	}
	sortEvents(b.res.Events)
	return &b.res, nil
}

// id derives the event's id from the record: a UUIDv7 whose 48-bit time is
// the record's start and whose other bits are a SHA-1 name-based UUID over
// the family, member, format and key, so the same record always gets the
// same id.
func (b *builder) id(key string, start time.Time) uuid.UUID {
	name := make([]byte, 0, 64+len(key))
	name = append(name, b.opt.FamilyID[:]...)
	name = append(name, b.opt.MemberID[:]...)
	name = append(name, b.format...)
	name = append(name, 0)
	name = append(name, key...)
	u := uuid.NewSHA1(namespace, name)
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(start.UnixMilli()))
	copy(u[0:6], ms[2:8])
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u
}

// namespace is the importer's UUID namespace, itself name-based.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/zoner-family/zoner/hub/importer"))

// sleep adds a sleep (a nap when nap) from start to end.
func (b *builder) sleep(where, key string, start, end time.Time, nap bool) error {
	if nap {
		b.res.Naps++
	} else {
		b.res.Nights++
	}
	return b.add(where, key, syncproto.TypeSleep, start, end, &syncproto.Sleep{Nap: nap})
}

// light adds time in outdoor daylight from start to end.
func (b *builder) light(where, key string, start, end time.Time) error {
	b.res.Light++
	return b.add(where, key, syncproto.TypeLightExposure, start, end, &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight})
}

func (b *builder) add(where, key string, t syncproto.Type, start, end time.Time, data syncproto.Payload) error {
	if len(b.res.Events) >= b.opt.MaxEvents {
		return &Error{Where: where, Err: fmt.Errorf("more than %d events in one file; split it", b.opt.MaxEvents)}
	}
	e := syncproto.Envelope{
		Header: syncproto.Header{
			ID:       b.id(string(t)+"\x00"+key, start),
			FamilyID: b.opt.FamilyID,
			MemberID: b.opt.MemberID,
			Origin:   b.opt.Origin,
			Type:     t,
			Start:    start,
			End:      end,
			TZ:       b.opt.TZ,
			HLC:      syncproto.NewHLC(end.UTC(), 0),
			V:        syncproto.CurrentVersion,
		},
		Data: data,
	}
	if err := e.Validate(); err != nil {
		return &Error{Where: where, Err: fmt.Errorf("%s %s–%s is not a valid event: %w", t, start.Format(time.RFC3339), end.Format(time.RFC3339), err)}
	}
	if b.seen[e.ID] {
		// The same record twice in one file (Fitbit's overlapping daily
		// files, a CSV row repeated): one event.
		if t == syncproto.TypeSleep {
			if data.(*syncproto.Sleep).Nap {
				b.res.Naps--
			} else {
				b.res.Nights--
			}
		} else {
			b.res.Light--
		}
		b.res.Skipped++
		return nil
	}
	b.seen[e.ID] = true
	b.res.Events = append(b.res.Events, e)
	return nil
}
