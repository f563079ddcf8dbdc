package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/zoner-family/zoner/hub"
)

// exportPage is how many events the export reads from the store at once.
const exportPage = 1000

// getExport answers with every event the hub holds for the family, oldest
// first, each one line of JSON in the event contract (JSON Lines): the
// family's data, to keep or to take elsewhere. Events lost from a damaged
// log, whose content is gone, are left out.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	fam, err := s.Store.Family(r.Context())
	if err != nil {
		return err
	}
	name := "zoner-export.jsonl"
	if fam != nil {
		name = fmt.Sprintf("zoner-%s-%s.jsonl", fam.ID, s.Now().UTC().Format("2006-01-02"))
	}
	q := hub.EventQuery{Limit: exportPage}
	first, err := s.Store.Events(r.Context(), q)
	if err != nil {
		return err // nothing written yet: the problem answers
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	var line bytes.Buffer
	for page := first; len(page) > 0; {
		for _, e := range page {
			if len(e.Event) == 0 || bytes.Equal(e.Event, []byte("null")) {
				continue
			}
			line.Reset()
			if err := json.Compact(&line, e.Event); err != nil {
				return fmt.Errorf("export: event %d: %w", e.Seq, err)
			}
			line.WriteByte('\n')
			if _, err := w.Write(line.Bytes()); err != nil {
				return nil // the client went away
			}
		}
		q.After = page[len(page)-1].Seq
		if page, err = s.Store.Events(r.Context(), q); err != nil {
			// The answer has begun: the client sees a cut-off file.
			s.Logger.Error("export: read events", "after", q.After, "err", err)
			return nil
		}
	}
	return nil
}
