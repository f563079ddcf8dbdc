package http

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
)

// Backend is what the API serves from; the cloud service implements it.
type Backend interface {
	// Recommendation returns the member's recommendation JSON (a
	// cloud.Recommendation), computing it on a cache miss; a *cloud.Error
	// with CodeNotFound for an unknown family/member.
	Recommendation(ctx context.Context, family, member uuid.UUID) ([]byte, error)
	FamilySummary(ctx context.Context, family uuid.UUID) (*cloud.FamilySummary, error)
	Analytics(ctx context.Context) (*cloud.Analytics, error)
	FlightStatus(ctx context.Context, s cloud.FlightStatus) (cloud.FlightResult, error)
	Ready(ctx context.Context) error
}

// Defaults for the rate limits.
const (
	DefaultRatePerSecond = 10
	DefaultBurst         = 40
	DefaultWebhookRate   = 5
	DefaultWebhookBurst  = 20
)

// maxLimiterKeys is how many keys (token holders, client addresses) each
// rate limit holds at most; clients past that share one bucket.
const maxLimiterKeys = 100_000

// MinWebhookSecretBytes is the shortest webhook secret New accepts.
const MinWebhookSecretBytes = 16

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
	readyTimeout      = 3 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Config is what New needs.
type Config struct {
	Backend Backend
	// Secret signs and verifies bearer tokens (HS256); at least
	// MinSecretBytes long.
	Secret []byte
	// WebhookSecret authenticates flight-status webhooks; at least
	// MinWebhookSecretBytes long.
	WebhookSecret []byte
	// Logger gets errors the client is not shown; nil discards.
	Logger *slog.Logger
	// Metrics receives the request counters and latency histograms; nil
	// makes a private set (still served on /metrics).
	Metrics *metrics.Set
	// RatePerSecond and Burst limit each token (its subject and family);
	// zero means DefaultRatePerSecond and DefaultBurst.
	RatePerSecond float64
	Burst         int
	// WebhookRate and WebhookBurst limit each client address on the
	// webhooks and on requests refused with 401; zero means
	// DefaultWebhookRate and DefaultWebhookBurst.
	WebhookRate  float64
	WebhookBurst int
	// TrustedProxies are the networks of the proxies in front of the API
	// (an ingress controller). A request from one of them is counted
	// against the address its X-Forwarded-For names: the nearest one not
	// in these networks. Empty trusts no header.
	TrustedProxies []netip.Prefix
	// Sessions keeps sign-in codes and the sessions of signed-in devices
	// (see auth.go); nil answers the sign-in routes with 503 and refuses
	// tokens that name a session. SessionCheckTTL is how long a replica
	// trusts a session it found alive (DefaultSessionCheckTTL for 0, none:
	// the store on every request, when negative);
	// SignInRate and SignInBurst limit sign-in attempts per client
	// address (DefaultSignInRate and DefaultSignInBurst for 0).
	Sessions        cloud.SessionStore
	SessionCheckTTL time.Duration
	SignInRate      float64
	SignInBurst     int
}

// openAPI is the API's OpenAPI document, served at /v1/openapi.json.
//
//go:embed openapi.json
var openAPI []byte

// Server is the cloud's HTTP API.
type Server struct {
	backend       Backend
	secret        []byte
	verified      *verifiedTokens // tokens checked against secret
	webhookSecret []byte
	log           *slog.Logger
	metrics       *metrics.Set
	tokens        *httpx.Limiter // per token subject and family
	addrs         *httpx.Limiter // per client address
	proxies       []netip.Prefix
	now           func() time.Time
	mux           *http.ServeMux
	handler       http.Handler
	latency       map[string]*routeMetrics // by route pattern
	auth          *auth
}

// latencyBuckets are the upper bounds, in seconds, of the latency
// histograms: fine below a millisecond, where reads should be.
var latencyBuckets = []float64{.00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// New checks cfg and makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("new server: no backend")
	}
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("new server: token secret of %d bytes; at least %d are needed", len(cfg.Secret), MinSecretBytes)
	}
	if len(cfg.WebhookSecret) < MinWebhookSecretBytes {
		return nil, fmt.Errorf("new server: webhook secret of %d bytes; at least %d are needed", len(cfg.WebhookSecret), MinWebhookSecretBytes)
	}
	if cfg.RatePerSecond < 0 || cfg.Burst < 0 || cfg.WebhookRate < 0 || cfg.WebhookBurst < 0 {
		return nil, errors.New("new server: rates and bursts must not be negative")
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.WebhookRate == 0 {
		cfg.WebhookRate = DefaultWebhookRate
	}
	if cfg.WebhookBurst == 0 {
		cfg.WebhookBurst = DefaultWebhookBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	s := &Server{
		backend:       cfg.Backend,
		secret:        cfg.Secret,
		verified:      newVerifiedTokens(cfg.Secret, maxVerifiedTokens),
		webhookSecret: cfg.WebhookSecret,
		log:           cfg.Logger,
		metrics:       cfg.Metrics,
		tokens:        httpx.NewLimiter(httpx.Rate{PerSecond: cfg.RatePerSecond, Burst: cfg.Burst}, maxLimiterKeys, time.Minute),
		addrs:         httpx.NewLimiter(httpx.Rate{PerSecond: cfg.WebhookRate, Burst: cfg.WebhookBurst}, maxLimiterKeys, time.Minute),
		proxies:       cfg.TrustedProxies,
		now:           time.Now,
		mux:           http.NewServeMux(),
		latency:       map[string]*routeMetrics{},
	}
	s.auth = newAuth(cfg, func() time.Time { return s.now() })
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mountWeb()
	s.routeMetrics(unmatched)
	s.handler = http.HandlerFunc(s.serve)
	return s, nil
}

// access says who may call a route.
type access int

const (
	open    access = iota // anyone, no limit
	webhook               // the webhook secret; limited per address
	bearer                // a valid token; limited per token
)

type route struct {
	method, pattern string
	access          access
	handler         func(w http.ResponseWriter, r *http.Request, c *Claims) error
}

func (s *Server) routes() []route {
	rts := []route{
		{"GET", "/healthz", open, s.healthz},
		{"GET", "/readyz", open, s.readyz},
		{"GET", "/metrics", open, s.getMetrics},
		{"GET", "/v1/openapi.json", open, s.getOpenAPI},
		{"GET", "/v1/families/{family}/members/{member}/recommendation", bearer, s.getRecommendation},
		{"GET", "/v1/families/{family}/summary", bearer, s.getSummary},
		{"GET", "/v1/families/{family}/export", bearer, s.getExport},
		{"GET", "/v1/analytics", bearer, s.getAnalytics},
		{"POST", "/v1/webhooks/flight-status", webhook, s.postFlightStatus},
		{"POST", "/v1/webhooks/flightaware", webhook, s.postFlightAware},
	}
	rts = append(rts, s.authRoutes()...)
	rts = append(rts, s.appRoutes()...)
	rts = append(rts, s.pushRoutes()...)
	rts = append(rts, s.intakeRoutes()...)
	return rts
}

// unmatched is the route label of requests no route took (404 and 405).
const unmatched = "unmatched"

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx ends, then shuts down gracefully, giving
// requests under way a few seconds to finish. With tlsCertFile and
// tlsKeyFile it serves HTTPS (TLS 1.2 or later).
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCertFile, tlsKeyFile string) error {
	if (tlsCertFile == "") != (tlsKeyFile == "") {
		return errors.New("serve: give both a TLS certificate and a key, or neither")
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if tlsCertFile != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	done := make(chan error, 1)
	go func() {
		if tlsCertFile != "" {
			done <- srv.ServeTLS(ln, tlsCertFile, tlsKeyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// serve sends matched requests through the mux, and answers the rest (no
// such route, or the wrong method) with JSON errors.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	fw := &fallbackWriter{ResponseWriter: w, s: s, r: r}
	h.ServeHTTP(fw, r)
	s.observe(unmatched, fw.code, time.Since(start))
}

// fallbackWriter turns the mux's own plain-text 404 and 405 answers into
// JSON errors; its redirects pass through.
type fallbackWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	code    int
	swallow bool
}

func (w *fallbackWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	switch code {
	case http.StatusNotFound:
		w.swallow = true
		w.s.writeError(w.ResponseWriter, w.r, httpx.Errorf(httpx.CodeNotFound,
			"no such endpoint: "+w.r.Method+" "+w.r.URL.Path))
	case http.StatusMethodNotAllowed:
		w.swallow = true
		w.s.writeError(w.ResponseWriter, w.r, httpx.Errorf(httpx.CodeMethodNotAllowed,
			w.r.Method+" is not allowed on "+w.r.URL.Path+"; allowed: "+w.Header().Get("Allow")))
	default:
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *fallbackWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// routeMetrics are a route's latency histogram and its request counters
// by status, looked up once per status rather than by name on every
// request (a string built and the metric set's lock taken).
type routeMetrics struct {
	set     *metrics.Set
	route   string // quoted
	latency *metrics.PrometheusHistogram
	byCode  [600]atomic.Pointer[metrics.Counter] // by status code
}

// routeMetrics returns route's metrics, made on first use; only New calls
// it (the map is read without a lock afterwards).
func (s *Server) routeMetrics(route string) *routeMetrics {
	if m, ok := s.latency[route]; ok {
		return m
	}
	q := strconv.Quote(route)
	m := &routeMetrics{set: s.metrics, route: q,
		latency: s.metrics.GetOrCreatePrometheusHistogramExt(`zoner_cloud_http_request_duration_seconds{route=`+q+`}`, latencyBuckets)}
	s.latency[route] = m
	return m
}

// observe counts one answered request by status, and records how long
// it took.
func (m *routeMetrics) observe(code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK
	}
	var c *metrics.Counter
	if code > 0 && code < len(m.byCode) {
		c = m.byCode[code].Load()
	}
	if c == nil {
		c = m.set.GetOrCreateCounter(`zoner_cloud_http_requests_total{route=` + m.route + `,status="` + strconv.Itoa(code) + `"}`)
		if code > 0 && code < len(m.byCode) {
			m.byCode[code].Store(c)
		}
	}
	c.Inc()
	m.latency.Update(d.Seconds())
}

// observe counts one answered request by route and status, and records
// how long it took.
func (s *Server) observe(route string, code int, d time.Duration) {
	s.latency[route].observe(code, d)
}

// wrap adds to a route's handler what every route needs: metrics, panic
// recovery, rate limits, authentication and error answers.
func (s *Server) wrap(rt route) http.Handler {
	m := s.routeMetrics(rt.pattern)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &httpx.StatusWriter{ResponseWriter: rw}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "route", rt.pattern, "panic", fmt.Sprint(v))
				if w.Code == 0 {
					s.writeError(w, r, errors.New("panic"))
				}
			}
			m.observe(w.Code, time.Since(start))
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		var claims *Claims
		switch rt.access {
		case bearer:
			w.Header().Set("Cache-Control", "no-store")
			c, err := s.authenticate(r)
			if err != nil {
				if r.Header.Get("Authorization") != "" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="zoner-cloud", error="invalid_token"`)
				}
				// Refusals count against the address, so guessing is slow.
				if !s.allowAddr(w, r) {
					return
				}
				s.writeError(w, r, err)
				return
			}
			if ok, wait := s.tokens.Allow(string(c.Role)+"|"+familyKey(c.Family)+"|"+c.Subject, s.now()); !ok {
				s.writeRateLimited(w, r, wait, "too many requests with this token")
				return
			}
			claims = c
		case webhook:
			if !s.allowAddr(w, r) {
				return
			}
			if err := s.checkWebhookSecret(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Zoner-Webhook-Secret realm="zoner-cloud-webhooks"`)
				s.writeError(w, r, err)
				return
			}
		}
		if err := rt.handler(w, r, claims); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func familyKey(f uuid.UUID) string {
	if f == uuid.Nil {
		return ""
	}
	return f.String()
}

// allowAddr takes a token from the client address's bucket, or answers 429.
func (s *Server) allowAddr(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.addrs.Allow(httpx.ClientIP(r, s.proxies), s.now())
	if !ok {
		s.writeRateLimited(w, r, wait, "too many requests from this address")
	}
	return ok
}

func (s *Server) writeRateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration, what string) {
	s.writeError(w, r, &httpx.Error{Code: httpx.CodeRateLimited, RetryAfter: wait,
		Message: what + "; retry in " + strconv.Itoa(httpx.RetryAfterSeconds(wait)) + " s"})
}

// invalid is a refused request body with what is wrong with it; the
// message names every problem too.
func invalid(what string, problems []httpx.Problem) *httpx.Error {
	msg := what
	for i, p := range problems {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		msg += sep
		if p.Path != "" {
			msg += p.Path + ": "
		}
		msg += p.Rule
	}
	return &httpx.Error{Code: httpx.CodeInvalid, Message: msg, Problems: problems}
}

// writeError answers with err in the one error shape. An *httpx.Error
// goes out as it is and a *cloud.Error with its code and message; any
// other error is logged and answered with a generic 500, its text never
// shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var out *httpx.Error
	if he, ok := errors.AsType[*httpx.Error](err); ok {
		out = he
	} else if ce, ok := errors.AsType[*cloud.Error](err); ok && ce.Code != "" {
		out = httpx.Errorf(httpx.Code(ce.Code), ce.Message)
	} else if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	} else {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		out = httpx.Errorf(httpx.CodeInternal, "internal error; it has been logged")
	}
	if out.Status() == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="zoner-cloud"`)
	}
	httpx.WriteError(w, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }
