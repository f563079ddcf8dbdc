package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// authenticate reads and verifies the bearer token. Its errors are
// unauthorized and say what to fix, without the details of a refusal.
func (s *Server) authenticate(r *http.Request) (*Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, &cloud.Error{Code: cloud.CodeUnauthorized,
			Message: `send a token as "Authorization: Bearer <token>"`}
	}
	c, err := s.verified.parse(strings.TrimSpace(tok), s.now())
	if err != nil {
		msg := "the bearer token is not valid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the bearer token has expired; get a new one"
		}
		return nil, &cloud.Error{Code: cloud.CodeUnauthorized, Message: msg}
	}
	if err := s.checkSession(r.Context(), c); err != nil {
		return nil, err
	}
	return c, nil
}

// errForbidden is the one answer to a token that may not see what it
// asks for. It is the same whether or not the family exists, so a token
// of one family learns nothing about another.
var errForbidden = &cloud.Error{Code: cloud.CodeForbidden, Message: "this token may not read this resource"}

// canReadFamily reports whether c may read family-wide data of family: a
// guardian of that family, or an admin.
func canReadFamily(c *Claims, family uuid.UUID) bool {
	return c.Role == RoleAdmin || c.Role == RoleGuardian && c.Family == family
}

// canReadMember reports whether c may read member's own data: whoever may
// read the family, and the member themself.
func canReadMember(c *Claims, family, member uuid.UUID) bool {
	return canReadFamily(c, family) ||
		c.Role == RoleMember && c.Family == family && c.Subject == member.String()
}

// canReadAnalytics reports whether c may read the aggregates.
func canReadAnalytics(c *Claims) bool {
	return c.Role == RoleAnalyst || c.Role == RoleAdmin
}

// pathID parses a path id, a UUID in any spelling uuid.Parse takes (not
// the nil one). A malformed one is refused as forbidden unless the token
// could read some family it might name (an admin), so the answer to a
// token never depends on anything but the token.
func pathID(r *http.Request, name string, c *Claims) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil || id == uuid.Nil {
		if c.Role != RoleAdmin {
			return uuid.Nil, errForbidden
		}
		return uuid.Nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no " + name + " " + r.PathValue(name) + ": ids are UUIDs"}
	}
	return id, nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.backend.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		msg := "not ready"
		if ce, ok := errors.AsType[*cloud.Error](err); ok && ce.Message != "" {
			msg += ": " + ce.Message
		}
		return &cloud.Error{Code: cloud.CodeUnavailable, Message: msg}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
	return nil
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI)
	return nil
}

func (s *Server) getRecommendation(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	member, err := pathID(r, "member", c)
	if err != nil {
		return err
	}
	if !canReadMember(c, family, member) {
		return errForbidden
	}
	b, err := s.backend.Recommendation(r.Context(), family, member)
	if err != nil {
		return err
	}
	// The cached JSON goes out as it is: no decoding, no re-encoding.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

func (s *Server) getSummary(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	if !canReadFamily(c, family) {
		return errForbidden
	}
	sum, err := s.backend.FamilySummary(r.Context(), family)
	if err != nil {
		return err
	}
	if sum == nil {
		return &cloud.Error{Code: cloud.CodeNotFound, Message: "no family " + family.String()}
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// Exporter is a backend that can hand over all of a family's events.
type Exporter interface {
	// FamilyEvents returns the family's events, each in the event
	// contract's JSON, oldest first; a *cloud.Error with CodeNotFound for
	// an unknown family.
	FamilyEvents(ctx context.Context, family uuid.UUID) ([][]byte, error)
}

// getExport answers a guardian with every event the cloud holds for their
// family, as JSON Lines in the event contract.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	if !canReadFamily(c, family) {
		return errForbidden
	}
	ex, ok := s.backend.(Exporter)
	if !ok {
		return &cloud.Error{Code: cloud.CodeNotFound, Message: "this API cannot export families"}
	}
	events, err := ex.FamilyEvents(r.Context(), family)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="zoner-%s-%s.jsonl"`, family, s.now().UTC().Format("2006-01-02")))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	var line bytes.Buffer
	for _, e := range events {
		line.Reset()
		if err := json.Compact(&line, e); err != nil {
			s.log.Error("export: an event is not JSON", "family", family, "err", err)
			continue
		}
		line.WriteByte('\n')
		if _, err := w.Write(line.Bytes()); err != nil {
			return nil // the client went away
		}
	}
	return nil
}

func (s *Server) getAnalytics(w http.ResponseWriter, r *http.Request, c *Claims) error {
	if !canReadAnalytics(c) {
		return &cloud.Error{Code: cloud.CodeForbidden, Message: "analytics are for the analyst and admin roles"}
	}
	a, err := s.backend.Analytics(r.Context())
	if err != nil {
		return err
	}
	// Empty groups are empty arrays, never null, whichever warehouse
	// answered.
	out := *a
	if out.Adaptation == nil {
		out.Adaptation = []cloud.AdaptationGroup{}
	}
	if out.FirstNights == nil {
		out.FirstNights = []cloud.NightGroup{}
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}
