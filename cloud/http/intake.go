package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// IntakeBackend is what the event intake and the live stream serve from;
// the cloud service implements it. A Backend without it answers 503 on
// those routes.
type IntakeBackend interface {
	// PostEvents takes a family's events, all or none; a
	// *cloud.IntakeError says why not.
	PostEvents(ctx context.Context, family uuid.UUID, who cloud.Author, raws [][]byte) ([]cloud.Posted, error)
	// Subscribe returns the family's notices until cancel; the channel is
	// closed when the feed ends.
	Subscribe(ctx context.Context, family uuid.UUID) (<-chan cloud.Notice, func(), error)
}

// MaxEventsBodyBytes bounds an intake request's body: a full batch of
// events of the largest size.
const MaxEventsBodyBytes = 4 << 20

// streamHeartbeat is how often an idle live stream gets a comment line, so
// proxies and phones keep it open.
var streamHeartbeat = 15 * time.Second

// intakeBodyTimeout is how long a client may take to send a body.
const intakeBodyTimeout = 30 * time.Second

func (s *Server) intakeRoutes() []route {
	return []route{
		{"POST", "/v1/families/{family}/events", bearer, s.postEvents},
		{"GET", "/v1/families/{family}/stream", bearer, s.getStream},
	}
}

func (s *Server) intakeBackend() (IntakeBackend, error) {
	ib, ok := s.backend.(IntakeBackend)
	if !ok {
		return nil, &cloud.Error{Code: cloud.CodeUnavailable, Message: "this API takes no events"}
	}
	return ib, nil
}

// errNoWrite is the answer to a token that may not write to a family.
var errNoWrite = &cloud.Error{Code: cloud.CodeForbidden, Message: "this token may not write to this family"}

// writer says who posts to family with token c: a guardian of the family
// (any event), a member of the family (about themself); nil for anyone
// else.
func writer(c *Claims, family uuid.UUID) *cloud.Author {
	if c.Family != family {
		return nil
	}
	switch c.Role {
	case RoleGuardian:
		return &cloud.Author{}
	case RoleMember:
		if id, err := uuid.Parse(c.Subject); err == nil {
			return &cloud.Author{Member: id}
		}
	}
	return nil
}

// canStream reports whether c may follow family's live stream: whoever
// may read the family, and its members (the stream names no data, only
// what changed).
func canStream(c *Claims, family uuid.UUID) bool {
	return canReadFamily(c, family) || c.Role == RoleMember && c.Family == family
}

type postedJSON struct {
	Results []cloud.Posted `json:"results"`
}

// postEvents takes one event (a JSON object) or a batch (a JSON array),
// all or none, as a hub's POST /api/v1/events does.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	who := writer(c, family)
	if who == nil {
		return errNoWrite
	}
	ib, err := s.intakeBackend()
	if err != nil {
		return err
	}
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(intakeBodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventsBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return httpx.Errorf(httpx.CodeTooLarge, "request body over "+strconv.Itoa(MaxEventsBodyBytes>>20)+" MiB: send fewer events at a time")
		}
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return httpx.Errorf(httpx.CodeInvalid, "the request body was cut short or too slow to arrive; nothing was stored: send it again")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var raws [][]byte
	if batch {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "events refused; none were stored", Problems: []httpx.Problem{{Code: string(syncproto.CodeMalformed),
				Rule: "the body must be one event (a JSON object) or a JSON array of events: " + err.Error()}}}
		}
		for _, it := range items {
			raws = append(raws, it)
		}
	} else {
		raws = [][]byte{body}
	}
	out, err := ib.PostEvents(r.Context(), family, *who, raws)
	if err != nil {
		return intakeError(err, batch)
	}
	if batch {
		writeJSON(w, http.StatusOK, postedJSON{Results: out})
	} else {
		writeJSON(w, http.StatusOK, out[0])
	}
	return nil
}

// intakeError turns a *cloud.IntakeError into the one error shape, the
// problems' indexes only for a batch (as a hub answers).
func intakeError(err error, batch bool) error {
	ie, ok := errors.AsType[*cloud.IntakeError](err)
	if !ok {
		return err
	}
	out := &httpx.Error{Code: httpx.Code(ie.Code), Message: ie.Message}
	for _, p := range ie.Problems {
		hp := httpx.Problem{Code: string(p.Code), Path: p.Path, Rule: p.Rule}
		if batch {
			i := p.Index
			hp.Index = &i
		}
		out.Problems = append(out.Problems, hp)
	}
	return out
}

// getStream sends the family's notices as Server-Sent Events, as a hub's
// /api/v1/stream does: "hello" on connecting, then "events" (events of the
// family were stored) and "plan" (a member's advice was written), each
// with a JSON notice, and a comment line every streamHeartbeat. A client
// that falls behind is disconnected; EventSource reconnects and the client
// reads afresh. The stream ends when the API shuts down.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	if !canStream(c, family) {
		return errForbidden
	}
	ib, err := s.intakeBackend()
	if err != nil {
		return err
	}
	ch, cancel, err := ib.Subscribe(r.Context(), family)
	if err != nil {
		return err
	}
	defer cancel()
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 3000\nevent: hello\ndata: {\"family_id\":%q}\n\n", family)
	if err := rc.Flush(); err != nil {
		return nil
	}
	tick := time.NewTicker(streamHeartbeat)
	defer tick.Stop()
	// A token outlives no stream: the client reconnects with a fresh one.
	var expired <-chan time.Time
	if !c.ExpiresAt.IsZero() {
		t := time.NewTimer(max(c.ExpiresAt.Sub(s.now()), 0))
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-expired:
			return nil
		case n, ok := <-ch:
			if !ok {
				return nil
			}
			b, _ := json.Marshal(n)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", n.Kind, b)
		case <-tick.C:
			// A session revoked meanwhile ends its streams too.
			if s.checkSession(r.Context(), c) != nil {
				return nil
			}
			fmt.Fprint(w, ": ping\n\n")
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
