// Package natsauth answers hubs' requests for sign-in links, on the
// cloud's NATS: a hub asks on syncproto.SignInSubject(family), which only
// that family's hubs may publish to (edge.FamilySubjects), so the family
// is the subject's and nothing in the request can name another. The
// answer is a single-use link to the cloud's web UI, its code in the
// URL's fragment so that no server or proxy logs it. Several API replicas
// share the work in a queue group (Queue).
package natsauth

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// Queue is the queue group the sign-in responders share.
const Queue = "zoner-signin"

// requestTimeout bounds storing one code.
const requestTimeout = 5 * time.Second

// Responder answers sign-in requests until Close.
type Responder struct {
	auth      *cloud.Auth
	publicURL string
	logger    *slog.Logger
	sub       *nats.Subscription
}

// Serve starts answering on nc (a connection of the cloud's service user)
// with codes stored through auth; links start with publicURL, the
// address where browsers reach the cloud's web UI and API.
func Serve(nc *nats.Conn, auth *cloud.Auth, publicURL string, logger *slog.Logger) (*Responder, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Responder{auth: auth, publicURL: strings.TrimRight(publicURL, "/"), logger: logger}
	sub, err := nc.QueueSubscribe(syncproto.DownRoot+".*.signin", Queue, r.serve)
	if err != nil {
		return nil, err
	}
	r.sub = sub
	return r, nil
}

// Close stops answering.
func (r *Responder) Close() { r.sub.Unsubscribe() }

func (r *Responder) serve(msg *nats.Msg) {
	parts := strings.Split(msg.Subject, ".")
	reply := func(rep syncproto.SignInReply) {
		b, _ := json.Marshal(rep)
		if err := msg.Respond(b); err != nil {
			r.logger.Warn("sign-in: reply not sent", "subject", msg.Subject, "err", err)
		}
	}
	family, err := uuid.Parse(parts[len(parts)-2])
	if len(parts) != 4 || err != nil || family == uuid.Nil {
		reply(syncproto.SignInReply{Error: "not a family's sign-in subject"})
		return
	}
	var req syncproto.SignInRequest
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		reply(syncproto.SignInReply{Error: "the request is not a sign-in request: " + err.Error()})
		return
	}
	g, err := cloud.CheckSignInRequest(family, req)
	if err != nil {
		reply(syncproto.SignInReply{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	code, expires, err := r.auth.NewSignInCode(ctx, g)
	if err != nil {
		r.logger.Error("sign-in: code not stored", "family", family, "err", err)
		reply(syncproto.SignInReply{Error: "the cloud could not store the link; try again"})
		return
	}
	r.logger.Info("sign-in link made", "family", family, "role", g.Role, "device", g.Device)
	reply(syncproto.SignInReply{URL: r.publicURL + "/#/signin/" + code, ExpiresAt: expires.UTC().Truncate(time.Second)})
}
