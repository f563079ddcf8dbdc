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

// PushBackend is what the Web Push routes need of the backend; a backend
// without it answers them 503. cloud.PushAPI implements it.
type PushBackend interface {
	VAPIDPublicKey() string
	SubscribePush(ctx context.Context, family uuid.UUID, s cloud.PushSubscription) (string, error)
	UnsubscribePush(ctx context.Context, family uuid.UUID, endpoint string) error
	SetNotifyPrefs(ctx context.Context, family, member uuid.UUID, n cloud.NotifyPrefs) (cloud.NotifyPrefs, error)
}

// maxPushEndpoint is the longest push endpoint the routes take, as the
// API's document says.
const maxPushEndpoint = 2048

// MaxPushBodyBytes is the largest body the push routes take.
const MaxPushBodyBytes = 8 << 10

func (s *Server) pushRoutes() []route {
	return []route{
		{"GET", "/v1/push/vapid-key", open, s.getVAPIDKey},
		{"POST", "/v1/families/{family}/push/subscriptions", bearer, s.postPushSubscription},
		{"DELETE", "/v1/families/{family}/push/subscriptions", bearer, s.deletePushSubscription},
		{"PUT", "/v1/families/{family}/members/{member}/notifications", bearer, s.putNotifications},
	}
}

var errNoPush = &cloud.Error{Code: cloud.CodeUnavailable, Message: "this API does not send push notifications"}

func (s *Server) push() (PushBackend, error) {
	if pb, ok := s.backend.(PushBackend); ok && pb.VAPIDPublicKey() != "" {
		return pb, nil
	}
	return nil, errNoPush
}

func (s *Server) getVAPIDKey(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	pb, err := s.push()
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]string{"public_key": pb.VAPIDPublicKey()})
	return nil
}

// canPushFor reports whether c may ask for the reminders of members on
// a device: whoever may read the family (a guardian, an admin) for any of
// its members; a member for themself alone.
func canPushFor(c *Claims, family uuid.UUID, members []uuid.UUID) bool {
	if canReadFamily(c, family) {
		return true
	}
	if c.Role != RoleMember || c.Family != family {
		return false
	}
	for _, m := range members {
		if c.Subject != m.String() {
			return false
		}
	}
	return true
}

// inFamily reports whether c belongs to family (any role of it) or is an
// admin.
func inFamily(c *Claims, family uuid.UUID) bool {
	return c.Role == RoleAdmin || (c.Role == RoleGuardian || c.Role == RoleMember) && c.Family == family
}

// pushSubscriptionJSON is a browser's PushSubscription.toJSON() with the
// members the device wants reminders for.
type pushSubscriptionJSON struct {
	Endpoint       string         `json:"endpoint"`
	ExpirationTime *float64       `json:"expirationTime"`
	Keys           cloud.PushKeys `json:"keys"`
	Members        []uuid.UUID    `json:"members"`
}

func (s *Server) postPushSubscription(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	if !inFamily(c, family) {
		return errForbidden
	}
	pb, err := s.push()
	if err != nil {
		return err
	}
	var in pushSubscriptionJSON
	if err := readPushJSON(w, r, &in, "subscription refused", "endpoint, expirationTime, keys, members"); err != nil {
		return err
	}
	if !canPushFor(c, family, in.Members) {
		return &cloud.Error{Code: cloud.CodeForbidden, Message: "a member's token may ask for that member's reminders only"}
	}
	sub := cloud.PushSubscription{Endpoint: in.Endpoint, Keys: in.Keys, Members: in.Members}
	if in.ExpirationTime != nil && *in.ExpirationTime > 0 {
		t := time.UnixMilli(int64(*in.ExpirationTime)).UTC()
		sub.Expires = &t
	}
	id, err := pb.SubscribePush(r.Context(), family, sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "members": uniqueIDs(in.Members)})
	return nil
}

func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := pathID(r, "family", c)
	if err != nil {
		return err
	}
	if !inFamily(c, family) {
		return errForbidden
	}
	pb, err := s.push()
	if err != nil {
		return err
	}
	endpoint := r.URL.Query().Get("endpoint")
	if endpoint == "" || len(endpoint) > maxPushEndpoint {
		return &cloud.Error{Code: cloud.CodeInvalid, Message: fmt.Sprintf("endpoint: give the subscription's endpoint, at most %d characters", maxPushEndpoint)}
	}
	if err := pb.UnsubscribePush(r.Context(), family, endpoint); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": cloud.PushSubscriptionID(endpoint)})
	return nil
}

// notifyPrefsJSON is a member's notification settings as the API takes
// them.
type notifyPrefsJSON struct {
	Enabled    *bool  `json:"enabled"`
	QuietStart string `json:"quiet_start"`
	QuietEnd   string `json:"quiet_end"`
}

func (s *Server) putNotifications(w http.ResponseWriter, r *http.Request, c *Claims) error {
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
	pb, err := s.push()
	if err != nil {
		return err
	}
	var in notifyPrefsJSON
	if err := readPushJSON(w, r, &in, "notification settings refused", "enabled, quiet_start, quiet_end"); err != nil {
		return err
	}
	if in.Enabled == nil {
		return invalid("notification settings refused", []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "enabled", Rule: "required: true to get reminders, false to stop them"}})
	}
	n, err := pb.SetNotifyPrefs(r.Context(), family, member, cloud.NotifyPrefs{Enabled: *in.Enabled, QuietStart: in.QuietStart, QuietEnd: in.QuietEnd})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"family_id": family, "member_id": member, "enabled": n.Enabled,
		"quiet_start": n.QuietStart, "quiet_end": n.QuietEnd, "updated_at": n.UpdatedAt})
	return nil
}

// readPushJSON reads one JSON object of at most MaxPushBodyBytes into v,
// refusing unknown fields.
func readPushJSON(w http.ResponseWriter, r *http.Request, v any, what, fields string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPushBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return httpx.Errorf(httpx.CodeTooLarge, "body over "+strconv.Itoa(MaxPushBodyBytes>>10)+" KiB")
		}
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return invalid("could not read the body", []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "the body was cut short"}})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid(what, []httpx.Problem{jsonProblem(err, fields)})
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid(what, []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "send one JSON object and nothing after it"}})
	}
	return nil
}

func uniqueIDs(ids []uuid.UUID) []uuid.UUID {
	out := []uuid.UUID{}
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
