package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// DefaultMaxImportBytes is the largest sleep export the hub takes when
// Server.MaxImportBytes is zero: an Apple Health export of many years.
const DefaultMaxImportBytes = 4 << 30

// importIdle is how long an upload may send nothing before it is cut.
const importIdle = time.Minute

// importSpoolPattern names the temporary copies of uploaded zips.
const importSpoolPattern = "zoner-import-*.zip"

// The kinds of export an import reads.
const (
	FormatAppleHealth = "apple-health"
	FormatFitbit      = "fitbit"
	FormatOura        = "oura"
	FormatCSV         = "csv"
)

// SleepImporter reads a sleep-tracker export into one member's events,
// all of them or an *ImportError. The hub's command wires hub/importer.
type SleepImporter interface {
	// ImportAt reads a file that must be read at random (a zip).
	ImportAt(r io.ReaderAt, size int64, o ImportOptions) (*ImportResult, error)
	// ImportStream reads any other file as it arrives.
	ImportStream(r io.Reader, o ImportOptions) (*ImportResult, error)
}

// ImportOptions say whose file it is and how to read it.
type ImportOptions struct {
	FamilyID, MemberID uuid.UUID
	// TZ is the zone of the file's local times, and of the events.
	TZ string
	// Format is one of the Format constants, or "" to detect it.
	Format string
}

// ImportResult is a file read whole: valid events, ordered by start.
type ImportResult struct {
	Format              string
	Events              []syncproto.Envelope
	Nights, Naps, Light int
	Skipped             int
}

// ImportError is a file that cannot be imported: the line or record at
// fault (Where), and why.
type ImportError struct {
	Format, Where string
	Err           error
}

func (e *ImportError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("import %s: %v", e.Format, e.Err)
	}
	return fmt.Sprintf("import %s: %s: %v", e.Format, e.Where, e.Err)
}

func (e *ImportError) Unwrap() error { return e.Err }

// importJSON is the answer to an import.
type importJSON struct {
	Format string `json:"format"`
	// TZ is the zone local times were read in and events tagged with.
	TZ     string `json:"tz"`
	Nights int    `json:"nights"`
	Naps   int    `json:"naps"`
	Light  int    `json:"light"`
	// Events is how many events the file holds: New were stored now,
	// Already were stored by an earlier import.
	Events  int `json:"events"`
	New     int `json:"new"`
	Already int `json:"already"`
	Skipped int `json:"skipped"`
	// First and Last are the local dates the earliest and the latest
	// sleep (night or nap) began; absent when the file holds none.
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
}

// postImport takes a sleep-tracker export as the raw request body and
// writes its sleeps and daylight as the member's events: all of them or,
// when the file is broken, none. A zip is spooled to a temporary file
// (the zip reader needs to seek); anything else is parsed as it arrives.
func (s *Server) postImport(w http.ResponseWriter, r *http.Request) error {
	if s.Importer == nil {
		return httpx.Errorf(httpx.CodeNotFound, "this hub does not import sleep exports")
	}
	wr := s.writer.Load()
	if wr == nil {
		return httpx.Errorf(httpx.CodeUnavailable, "the hub is starting: applying the event log to its state; retry in a moment")
	}
	m, err := s.member(r)
	if err != nil {
		return err
	}
	if m.Removed || m.Data == nil {
		return httpx.Errorf(httpx.CodeNotFound, "no member "+m.ID.String()+" in this family (removed)")
	}
	f, err := s.Store.Family(r.Context())
	if err != nil {
		return err
	}
	if f == nil {
		return httpx.Errorf(httpx.CodeSetupRequired, "this hub has no family yet: set it up first")
	}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "multipart/form-data", "application/x-www-form-urlencoded":
		return httpx.Errorf(httpx.CodeUnsupportedMediaType, "send the export file itself as the body (like \"Content-Type: application/zip\"), not a form")
	}
	opt := ImportOptions{FamilyID: f.ID, MemberID: m.ID, TZ: m.Data.HomeTZ}
	q := r.URL.Query()
	var problems []httpx.Problem
	if v := q.Get("format"); v != "" {
		switch v {
		case FormatAppleHealth, FormatFitbit, FormatOura, FormatCSV:
			opt.Format = v
		default:
			problems = append(problems, httpx.Problem{Code: string(syncproto.CodeInvalid), Path: "format", Rule: "must be apple-health, fitbit, oura or csv; leave it out to detect it from the file"})
		}
	}
	if v := q.Get("tz"); v != "" {
		if _, err := syncproto.LoadZone(v); err != nil {
			problems = append(problems, httpx.Problem{Code: string(syncproto.CodeInvalid), Path: "tz", Rule: "must be an IANA time zone like Europe/London; leave it out for the member's home zone"})
		}
		opt.TZ = v
	}
	if len(problems) > 0 {
		return &httpx.Error{Code: httpx.CodeInvalid, Message: "import refused; nothing was stored", Problems: problems}
	}

	limit := s.MaxImportBytes
	if limit <= 0 {
		limit = DefaultMaxImportBytes
	}
	body := &uploadReader{r: r.Body, left: limit, rc: http.NewResponseController(w)}
	res, err := s.parseImport(body, opt)
	if body.over {
		return httpx.Errorf(httpx.CodeTooLarge, fmt.Sprintf("the file is over %s, the most this hub takes at once; nothing was stored: export a shorter period", sizeWords(limit)))
	}
	if err != nil {
		if ie, ok := errors.AsType[*ImportError](err); ok {
			return importProblem(ie)
		}
		if r.Context().Err() != nil {
			return r.Context().Err() // the client went away
		}
		if errors.Is(err, errUpload) {
			return httpx.Errorf(httpx.CodeInvalid, "the upload was cut short or too slow to arrive; nothing was stored: send the file again")
		}
		return err
	}
	if err := s.checkImported(res.Events); err != nil {
		return err
	}
	out, err := s.writeImported(r.Context(), wr, res.Events)
	if err != nil {
		return err
	}
	out.Format, out.TZ = res.Format, opt.TZ
	out.Nights, out.Naps, out.Light, out.Skipped = res.Nights, res.Naps, res.Light, res.Skipped
	for _, e := range res.Events {
		if e.Type != syncproto.TypeSleep {
			continue
		}
		// The start keeps the offset the file wrote, or the zone of its
		// local times: the date the person would say.
		day := e.Start.Format(time.DateOnly)
		if out.First == "" || day < out.First {
			out.First = day
		}
		if day > out.Last {
			out.Last = day
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseImport reads the whole export: a zip through a temporary file in
// ImportDir, removed before it returns; anything else as a stream.
func (s *Server) parseImport(body io.Reader, opt ImportOptions) (*ImportResult, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(4)
	if !bytes.Equal(head, []byte("PK\x03\x04")) {
		return s.Importer.ImportStream(br, opt)
	}
	dir := s.ImportDir
	if dir == "" {
		dir = os.TempDir()
	}
	tmp, err := os.CreateTemp(dir, importSpoolPattern)
	if err != nil {
		return nil, fmt.Errorf("spool the upload: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, br)
	if err != nil {
		if errors.Is(err, errUpload) || errors.Is(err, errTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("spool the upload: %w", err)
	}
	return s.Importer.ImportAt(tmp, n, opt)
}

// checkImported refuses, before anything is written, what the write path
// would refuse part-way: events stamped ahead of the hub's clock (a sleep
// that ends in the future).
func (s *Server) checkImported(events []syncproto.Envelope) error {
	now := s.Now()
	for _, e := range events {
		if e.HLC.Ahead(now) > syncproto.MaxClockAhead {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "import refused; nothing was stored", Problems: []httpx.Problem{{
				Code: string(syncproto.CodeInvalid), Path: "body",
				Rule: fmt.Sprintf("a %s from %s ends after the hub's clock (%s): is the hub's clock right?", e.Type, e.Start.Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
			}}}
		}
	}
	return nil
}

// writeImported writes the events through the hub's write path in
// batches, counting those it stored anew: an event already stored is
// answered with its old sequence, at or below the log's end before the
// batch.
func (s *Server) writeImported(ctx context.Context, wr *hub.Writer, events []syncproto.Envelope) (*importJSON, error) {
	out := &importJSON{Events: len(events)}
	for start := 0; start < len(events); start += hub.MaxBatch {
		batch := events[start:min(start+hub.MaxBatch, len(events))]
		raws := make([][]byte, len(batch))
		for i, e := range batch {
			b, err := syncproto.Marshal(e)
			if err != nil {
				return nil, fmt.Errorf("encode imported event %s: %w", e.ID, err)
			}
			raws[i] = b
		}
		before, err := s.Log.LastSeq(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the log's end: %w", err)
		}
		written, err := wr.Write(ctx, raws, false)
		if err != nil {
			if he, ok := errors.AsType[*hub.Error](err); ok {
				he.Message += fmt.Sprintf(" (events %d to %d of %d; the earlier ones were stored, and importing the file again stores only the rest)", start+1, start+len(batch), len(events))
			}
			return nil, err
		}
		for _, wt := range written {
			if wt.Seq > before {
				out.New++
			} else {
				out.Already++
			}
		}
	}
	return out, nil
}

// importProblem is a broken file in the API's error shape.
func importProblem(ie *ImportError) *httpx.Error {
	rule := ie.Err.Error()
	if ie.Where != "" {
		rule = ie.Where + ": " + rule
	}
	what := "the file"
	if ie.Format != "" {
		what = "the " + formatWords(ie.Format) + " file"
	}
	return &httpx.Error{Code: httpx.CodeInvalid, Message: what + " cannot be imported; nothing was stored",
		Problems: []httpx.Problem{{Code: string(syncproto.CodeMalformed), Path: "body", Rule: rule}}}
}

func formatWords(f string) string {
	switch f {
	case FormatAppleHealth:
		return "Apple Health"
	case FormatFitbit:
		return "Fitbit"
	case FormatOura:
		return "Oura"
	case FormatCSV:
		return "CSV"
	}
	return f
}

func sizeWords(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

var (
	errTooLarge = errors.New("upload over the size limit")
	errUpload   = errors.New("upload cut short")
)

// uploadReader reads a request body up to left bytes, and keeps the
// connection's read deadline moving while bytes arrive, so a large
// upload may take long but a stalled one is cut.
type uploadReader struct {
	r        io.Reader
	left     int64
	over     bool
	rc       *http.ResponseController
	deadline time.Time
}

func (u *uploadReader) Read(p []byte) (int, error) {
	if now := time.Now(); u.deadline.Sub(now) < importIdle/2 {
		u.deadline = now.Add(importIdle)
		u.rc.SetReadDeadline(u.deadline)
	}
	if u.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := u.r.Read(one[:]); n > 0 {
			u.over = true
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > u.left {
		p = p[:u.left]
	}
	n, err := u.r.Read(p)
	u.left -= int64(n)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("%w: %v", errUpload, err)
	}
	return n, err
}

// sweepImports removes spooled uploads a stopped hub left behind.
func sweepImports(dir string) {
	if dir == "" {
		return
	}
	matches, _ := filepath.Glob(filepath.Join(dir, importSpoolPattern))
	for _, m := range matches {
		if !strings.HasPrefix(filepath.Base(m), "zoner-import-") {
			continue
		}
		os.Remove(m)
	}
}
