package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// CloudSignIn asks the cloud for a sign-in link over the hub's link
// (natsjs.CloudLink implements it).
type CloudSignIn interface {
	SignIn(ctx context.Context, req syncproto.SignInRequest) (syncproto.SignInReply, error)
}

// SignInVia lets the hub make sign-in links through c; until it is
// called (the hub is not linked to a cloud) the route answers 409.
func (s *Server) SignInVia(c CloudSignIn) { s.signIn.Store(&c) }

// signInRequestJSON is the body of POST /api/v1/cloud/signin-links.
type signInRequestJSON struct {
	Role     string    `json:"role"`
	MemberID uuid.UUID `json:"member_id,omitzero"`
	Device   string    `json:"device,omitempty"`
}

type signInLinkJSON struct {
	// URL opens the cloud's web UI with the code in its fragment, which
	// a browser never sends to a server.
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	QRSVG     string    `json:"qr_svg"`
}

// postCloudSignIn asks the cloud for a single-use link (10 minutes) that
// signs a device in away from home: as one member, or as a guardian of
// the whole family. The hub has no roles of its own: whoever may use the
// hub (on the LAN, a paired device) already reads and writes everything
// of the family's, so may also hand out either kind of link.
func (s *Server) postCloudSignIn(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	p := s.signIn.Load()
	if p == nil {
		return httpx.Errorf(httpx.CodeConflict, "this hub is not linked to the cloud: start it with -cloud-url and -cloud-creds")
	}
	var in signInRequestJSON
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(&in)
	}
	if err != nil {
		return &httpx.Error{Code: httpx.CodeInvalid, Message: "bad request: send {\"role\": \"member\", \"member_id\": \"<id>\", \"device\": \"<label>\"} or {\"role\": \"guardian\"}",
			Problems: []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "a JSON object with role, member_id and device"}}}
	}
	switch in.Role {
	case syncproto.SignInMember:
		if in.MemberID == uuid.Nil {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "a member's link needs member_id",
				Problems: []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "member_id", Rule: "required for role member"}}}
		}
		m, err := s.Store.Member(r.Context(), in.MemberID)
		if err != nil {
			return err
		}
		if m == nil {
			return httpx.Errorf(httpx.CodeNotFound, "no member "+in.MemberID.String()+" in this family")
		}
	case syncproto.SignInGuardian:
		if in.MemberID != uuid.Nil {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "a guardian's link is for the whole family: leave member_id out",
				Problems: []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "member_id", Rule: "absent for role guardian"}}}
		}
	default:
		return &httpx.Error{Code: httpx.CodeInvalid, Message: "role must be member or guardian",
			Problems: []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "role", Rule: "member or guardian"}}}
	}
	rep, err := (*p).SignIn(r.Context(), syncproto.SignInRequest{Role: in.Role, MemberID: in.MemberID, Device: in.Device})
	if err != nil {
		s.Logger.Warn("sign-in link not made", "err", err)
		return httpx.Errorf(httpx.CodeUnavailable, "the cloud made no sign-in link ("+err.Error()+"); try again once the Sync screen says the hub is linked")
	}
	svg, err := qrSVG(rep.URL)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signInLinkJSON{URL: rep.URL, ExpiresAt: rep.ExpiresAt.UTC(), QRSVG: svg})
	return nil
}
