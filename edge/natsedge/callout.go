package natsedge

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/VictoriaMetrics/metrics"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/edge"
)

// The auth callout. In production the cloud's NATS is a cluster of the
// official nats-server, run from a config file, where the embedded
// server's Go check (auth) cannot run. There the server asks whoever
// answers on $SYS.REQ.USER.AUTH about each connection its static users do
// not cover, and Callout answers with the same rule (edge.Admit) and the
// same permissions (edge.FamilySubjects):
//
//	authorization {
//	  users: [ {user: zoner-service, password: "…"}, {user: zoner-auth, password: "…"} ]
//	  auth_callout { issuer: "A…", auth_users: [ zoner-service, zoner-auth ] }
//	}
//
// Requests encrypted for an xkey (auth_callout.xkey) are not supported:
// they are counted as errors and left unanswered, so the server refuses.
const (
	// CalloutUser is the user the callout connects as; the server must
	// list it in auth_callout.auth_users.
	CalloutUser = "zoner-auth"
	// CalloutQueue is the queue group the callout's replicas share: each
	// request goes to one of them.
	CalloutQueue = "zoner-callout"
	// CalloutAccount is where admitted families are placed: the server's
	// global account, the one there is when the config names no accounts.
	// The server reads it from the user JWT's audience.
	CalloutAccount = "$G"
)

// The outcomes of a callout request, the result label of
// zoner_bridge_callout_requests_total.
const (
	CalloutAdmitted = "admitted"
	CalloutRefused  = "refused"
	// CalloutError is a request that could not be answered (undecodable,
	// encrypted, or the answer could not be signed or sent); the server
	// refuses the connection when its wait runs out.
	CalloutError = "error"
)

// CalloutConfig says how the callout admits families.
type CalloutConfig struct {
	// Secret derives each family's secret (edge.FamilySecret): the cloud's.
	Secret []byte
	// IssuerSeed is the account nkey seed ("SA…") whose public key is the
	// server's auth_callout.issuer; it signs every answer.
	IssuerSeed []byte
	// Metrics counts the requests; nil counts nothing.
	Metrics *CalloutMetrics
}

// Callout answers the cloud's NATS servers' authorization requests.
type Callout struct {
	secret  []byte
	issuer  nkeys.KeyPair
	metrics *CalloutMetrics
	logger  *slog.Logger
	nc      *nats.Conn
	sub     *nats.Subscription
}

// NewCallout checks the configuration and makes a callout; Serve starts
// it answering.
func NewCallout(cfg CalloutConfig, logger *slog.Logger) (*Callout, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("auth callout: the cloud's secret must be at least 16 bytes")
	}
	issuer, err := nkeys.FromSeed(cfg.IssuerSeed)
	if err != nil {
		return nil, fmt.Errorf("auth callout: the issuer seed: %w", err)
	}
	if pub, err := issuer.PublicKey(); err != nil || !nkeys.IsValidPublicAccountKey(pub) {
		return nil, errors.New("auth callout: the issuer seed is not an account seed (SA…): make one with zoner-bridge callout-keys")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Callout{secret: cfg.Secret, issuer: issuer, metrics: cfg.Metrics, logger: logger}, nil
}

// Issuer is the public account key the server's auth_callout.issuer must
// name.
func (c *Callout) Issuer() string {
	pub, _ := c.issuer.PublicKey()
	return pub
}

// Serve answers requests arriving on nc, a connection as one of the
// server's auth_users, in the queue group the replicas share, until
// Close. nc's reconnects keep the subscription.
func (c *Callout) Serve(nc *nats.Conn) error {
	sub, err := nc.QueueSubscribe(server.AuthCalloutSubject, CalloutQueue, c.handle)
	if err != nil {
		return fmt.Errorf("auth callout: subscribe to %s: %w", server.AuthCalloutSubject, err)
	}
	c.nc, c.sub = nc, sub
	// The server has the subscription once the flush returns: a login
	// right after Serve is answered, not timed out. A connection still
	// being made registers it when it comes up.
	if nc.IsConnected() {
		if err := nc.Flush(); err != nil {
			return fmt.Errorf("auth callout: subscribe to %s: %w", server.AuthCalloutSubject, err)
		}
	}
	return nil
}

// Ready says whether requests reach the callout now: connected, and
// subscribed.
func (c *Callout) Ready() error {
	switch {
	case c.sub == nil || !c.sub.IsValid():
		return errors.New("auth callout: not subscribed")
	case !c.nc.IsConnected():
		return errors.New("auth callout: not connected to NATS")
	}
	return nil
}

// Close stops answering once the requests already received are answered.
func (c *Callout) Close() {
	if c.sub != nil && c.sub.IsValid() {
		c.sub.Drain()
	}
}

func (c *Callout) handle(msg *nats.Msg) {
	if msg.Header.Get(server.AuthRequestXKeyHeader) != "" {
		c.logger.Error("cloud nats callout: the server encrypts its requests (auth_callout.xkey), which this callout does not support: remove xkey from the server's config")
		c.metrics.count(CalloutError)
		return
	}
	answer, result := c.respond(msg.Data)
	if answer == nil {
		c.metrics.count(result)
		return
	}
	if err := msg.Respond(answer); err != nil {
		c.logger.Warn("cloud nats callout: could not answer the server", "err", err)
		result = CalloutError
	}
	c.metrics.count(result)
}

// respond decides on one request and returns the signed answer and the
// outcome; no answer when the request could not be read.
func (c *Callout) respond(data []byte) ([]byte, string) {
	// Decoding checks the signature and that a server made the request.
	req, err := jwt.DecodeAuthorizationRequestClaims(string(data))
	if err != nil {
		c.logger.Warn("cloud nats callout: an unreadable request", "err", err)
		return nil, CalloutError
	}
	vr := jwt.CreateValidationResults()
	req.Validate(vr)
	// Time checks are left to the server, which bounds its own wait: a
	// clock a second off must not refuse every hub.
	if vr.IsBlocking(false) || req.Server.ID == "" {
		c.logger.Warn("cloud nats callout: an invalid request", "issues", vr.Errors())
		return nil, CalloutError
	}
	ci, co := req.ClientInformation, req.ConnectOptions
	family, refusal := edge.Admit(c.secret, co.Username, co.Password)
	resp := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	resp.Audience = req.Server.ID
	result := CalloutAdmitted
	if refusal != nil {
		logRefusal(c.logger, refusal, family, ci.Host, "kind", ci.Kind, "server", req.Server.Name)
		resp.Error = refusal.Error()
		result = CalloutRefused
	} else {
		user := jwt.NewUserClaims(req.UserNkey)
		user.Name = family.String() // the user the server reports, as the embedded server's
		user.Audience = CalloutAccount
		user.Permissions = jwtPermissions(familyPermissions(family))
		if resp.Jwt, err = user.Encode(c.issuer); err != nil {
			c.logger.Error("cloud nats callout: could not sign a user", "err", err)
			return nil, CalloutError
		}
		c.logger.Debug("cloud nats callout: admitted", "family", family, "remote", ci.Host, "kind", ci.Kind)
	}
	answer, err := resp.Encode(c.issuer)
	if err != nil {
		c.logger.Error("cloud nats callout: could not sign an answer", "err", err)
		return nil, CalloutError
	}
	return []byte(answer), result
}

// jwtPermissions are p as a user JWT carries them; the server turns them
// back into exactly p (allow and deny lists as given, responses only when
// p has them).
func jwtPermissions(p *server.Permissions) jwt.Permissions {
	var out jwt.Permissions
	if p == nil {
		return out
	}
	if p.Publish != nil {
		out.Pub = jwt.Permission{Allow: p.Publish.Allow, Deny: p.Publish.Deny}
	}
	if p.Subscribe != nil {
		out.Sub = jwt.Permission{Allow: p.Subscribe.Allow, Deny: p.Subscribe.Deny}
	}
	if p.Response != nil {
		out.Resp = &jwt.ResponsePermission{MaxMsgs: p.Response.MaxMsgs, Expires: p.Response.Expires}
	}
	return out
}

// CalloutMetrics are the callout's Prometheus metrics, in a set it owns.
// A nil *CalloutMetrics records nothing.
type CalloutMetrics struct {
	set *metrics.Set
}

// NewCalloutMetrics makes the callout's metrics, every outcome at zero.
func NewCalloutMetrics() *CalloutMetrics {
	m := &CalloutMetrics{set: metrics.NewSet()}
	for _, r := range []string{CalloutAdmitted, CalloutRefused, CalloutError} {
		m.counter(r)
	}
	return m
}

func (m *CalloutMetrics) counter(result string) *metrics.Counter {
	return m.set.GetOrCreateCounter(`zoner_bridge_callout_requests_total{result="` + result + `"}`)
}

// WritePrometheus writes every metric and the process's own.
func (m *CalloutMetrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// Requests is how many requests had the outcome.
func (m *CalloutMetrics) Requests(result string) uint64 {
	if m == nil {
		return 0
	}
	return m.counter(result).Get()
}

func (m *CalloutMetrics) count(result string) {
	if m != nil {
		m.counter(result).Inc()
	}
}
