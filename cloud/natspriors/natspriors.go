// Package natspriors answers hubs' requests for the population priors of
// the body clock, on the cloud's NATS: a hub asks on
// syncproto.PriorsSubject(family), which only that family's hubs may
// publish to (edge.FamilySubjects), and gets a syncproto.PriorsReply: for
// each age band and chronotype with enough calibrated members in the
// warehouse, their pooled period shrunk toward the built-in prior
// (cloud.Priors). The warehouse's answer is kept for a few minutes, so a
// fleet of hubs coming online asks it once. Several API replicas share
// the work in a queue group (Queue).
package natspriors

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// Queue is the queue group the priors responders share.
const Queue = "zoner-priors"

// Defaults of Config.
const (
	// DefaultTTL is how long an answer of the warehouse is reused.
	DefaultTTL = 5 * time.Minute
	// requestTimeout bounds one read of the warehouse.
	requestTimeout = 10 * time.Second
)

// Groups is what the responder reads: cloud.Warehouse's pooled clocks.
type Groups interface {
	ClockGroups(ctx context.Context) ([]cloud.ClockGroup, error)
}

// Config configures a Responder.
type Config struct {
	// Model names the body-clock model the built-in prior is of; "" is
	// the default.
	Model string
	// TTL is how long an answer is reused (DefaultTTL when 0).
	TTL    time.Duration
	Now    func() time.Time // time.Now when nil
	Logger *slog.Logger     // discards when nil
}

// Responder answers priors requests until Close.
type Responder struct {
	groups Groups
	cfg    Config
	sub    *nats.Subscription

	mu     sync.Mutex
	priors []syncproto.ClockPrior // the last answer, nil before the first
	at     time.Time              // when it was read
}

// Serve starts answering on nc (a connection of the cloud's service user)
// from groups.
func Serve(nc *nats.Conn, groups Groups, cfg Config) (*Responder, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	r := &Responder{groups: groups, cfg: cfg}
	sub, err := nc.QueueSubscribe(syncproto.DownRoot+".*.priors", Queue, r.serve)
	if err != nil {
		return nil, err
	}
	r.sub = sub
	return r, nil
}

// Close stops answering.
func (r *Responder) Close() { r.sub.Unsubscribe() }

// Priors returns the priors, from the warehouse when the last answer is
// older than the TTL. When the warehouse fails, an older answer is
// served, if there is one.
func (r *Responder) Priors(ctx context.Context) ([]syncproto.ClockPrior, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	if r.priors != nil && now.Sub(r.at) < r.cfg.TTL {
		return r.priors, nil
	}
	groups, err := r.groups.ClockGroups(ctx)
	if err != nil {
		if r.priors != nil {
			r.cfg.Logger.Warn("priors: the warehouse did not answer; serving an older answer", "age", now.Sub(r.at), "err", err)
			return r.priors, nil
		}
		return nil, err
	}
	r.priors, r.at = cloud.Priors(r.cfg.Model, groups), now
	return r.priors, nil
}

func (r *Responder) serve(msg *nats.Msg) {
	parts := strings.Split(msg.Subject, ".")
	reply := func(rep syncproto.PriorsReply) {
		b, _ := json.Marshal(rep)
		if err := msg.Respond(b); err != nil {
			r.cfg.Logger.Warn("priors: reply not sent", "subject", msg.Subject, "err", err)
		}
	}
	if len(parts) != 4 {
		reply(syncproto.PriorsReply{Error: "not a family's priors subject"})
		return
	}
	if family, err := uuid.Parse(parts[2]); err != nil || family == uuid.Nil {
		reply(syncproto.PriorsReply{Error: "not a family's priors subject"})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	priors, err := r.Priors(ctx)
	if err != nil {
		r.cfg.Logger.Error("priors: the warehouse did not answer", "err", err)
		reply(syncproto.PriorsReply{Error: "the cloud could not read its priors; try again later"})
		return
	}
	reply(syncproto.PriorsReply{Priors: priors})
}
