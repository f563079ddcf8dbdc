package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/hub/natsjs"
	"github.com/zoner-family/zoner/hub/sqlite"
	"github.com/zoner-family/zoner/internal/cli"
	"github.com/zoner-family/zoner/syncproto"
	"github.com/zoner-family/zoner/web"
)

// logDuplicates is how long the event log keeps the ids of recent writes
// to drop repeats. JetStream reads every write of that window back at
// each start, so it is short: the writer finds repeats in the state
// database, and needs the log's memory only for an append whose answer
// was lost (natsjs.Config.AppendTimeout), then retried.
const logDuplicates = 2 * time.Minute

// Main is the program. Its exported fields are the configuration, so a
// test can run the real program on port 0 in a temporary directory.
type Main struct {
	// Command is "serve", "rebuild" or "pair".
	Command string
	DataDir string
	// HTTPAddr is where the API listens. On a loopback address no token
	// is needed; on any other, requests need the pairing token.
	HTTPAddr string
	// Hosts are more names the hub answers to besides its addresses,
	// like hub.local or the name in its certificate.
	Hosts []string
	// NATSPort is the embedded NATS server's client port; negative for
	// none (the default: the hub talks to it in-process).
	NATSPort int
	// StoreKey, when set, encrypts at rest what the hub writes about the
	// family: the event log, the sealed settings and the sealed snapshot
	// of the state, which lives in memory; "" for none.
	StoreKey    string
	StoreCipher string // "chacha" (default) or "aes"
	SyncAlways  bool
	// TLSCert and TLSKey are PEM files; with both set the hub serves
	// HTTPS, which phones on the LAN need for the web UI's offline start
	// (service workers) and notifications.
	TLSCert, TLSKey string
	// CloudURL is the cloud's leaf-node URL (nats-leaf://host:7422 or
	// tls://host:7422); with CloudCreds set, the hub syncs with the cloud.
	CloudURL string
	// CloudCreds is the family's credentials file.
	CloudCreds string
	// CloudCA is a PEM file of the authority that signed the cloud's
	// certificate, when not one the system trusts.
	CloudCA string
	// CloudReconnect is the wait between attempts while the link is down.
	CloudReconnect time.Duration
	// AcceptLoss lets rebuild go on when the log lacks events: it saves
	// those the state database holds to a file, rebuilds from what the
	// log holds, and records the loss as accepted.
	AcceptLoss bool
	// MinFree is how many bytes the hub keeps free on its disk (0 for
	// natsjs.DefaultMinFree, negative for no check); FreeSpace, when set,
	// replaces the file system's answer (tests play a full disk with it).
	MinFree   int64
	FreeSpace func() (uint64, error)
	// RawTail is how long the state database keeps the JSON of an applied
	// event beside the log (0: sqlite.DefaultRawTail), by Now.
	RawTail time.Duration
	Limits  hubhttp.Limits
	Logger  *slog.Logger
	// Stdout receives what is shown once to the person running the hub
	// (a new pairing token); never the log.
	Stdout io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// URL is the API's base URL once Run has returned.
	URL string

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	nats      *natsjs.Server
	store     *sqlite.Store
	httpSrv   *http.Server
	projector *hub.Projector
	replanner *hub.Replanner
	// calibrator learns each member's body clock from their nights.
	calibrator *hub.Calibrator
	cloud      *natsjs.CloudLink
	// Priors are the body clock's population priors from the cloud, kept
	// in the data directory; set by Run.
	Priors *hub.Priors
	// launch is how the hub was started, for the commands its messages
	// give; newToken is a pairing token made at this start, to show once.
	launch   launch
	newToken string
	// lanURLs are the addresses a phone opens the hub at (on the LAN).
	lanURLs []string
	// snapApplied is the applied sequence of the state snapshot on disk
	// (with a store key), so an unchanged state is not saved again.
	snapApplied uint64
}

// Serves reports whether Run started a server (the serve command).
func (m *Main) Serves() bool { return m.Command == "serve" }

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Command: "serve", HTTPAddr: "127.0.0.1:8080", NATSPort: -1, StoreCipher: "chacha", Stdout: os.Stdout, Now: time.Now}
}

// ParseFlags reads the command line, with ZONER_* environment variables as
// fallbacks for every flag.
func (m *Main) ParseFlags(ctx context.Context, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		m.Command, args = args[0], args[1:]
	}
	switch m.Command {
	case "serve", "rebuild", "pair":
	default:
		return fmt.Errorf("unknown command %q: use serve, rebuild or pair", m.Command)
	}
	fs := flag.NewFlagSet("zoner-hub "+m.Command, flag.ContinueOnError)
	fs.StringVar(&m.DataDir, "data", cli.Env("ZONER_DATA_DIR", defaultDataDir()), "data directory (env ZONER_DATA_DIR)")
	fs.StringVar(&m.HTTPAddr, "http", cli.Env("ZONER_HTTP", m.HTTPAddr), "HTTP listen address; a non-loopback address requires the pairing token (env ZONER_HTTP)")
	hosts := fs.String("hosts", cli.Env("ZONER_HOSTS", ""), "comma-separated names the hub also answers to, like hub.local, besides its own addresses (env ZONER_HOSTS)")
	lan := fs.Bool("lan", cli.EnvBool("ZONER_LAN", false), "serve the local network on port 8080 (same as -http 0.0.0.0:8080) (env ZONER_LAN)")
	fs.IntVar(&m.NATSPort, "nats-port", cli.EnvInt("ZONER_NATS_PORT", m.NATSPort), "NATS client port of the embedded server; -1 for none (env ZONER_NATS_PORT)")
	keyFile := fs.String("store-key-file", cli.Env("ZONER_STORE_KEY_FILE", ""), "file holding the key that encrypts the hub's data at rest: the event log and the settings; the state is then kept in memory only (env ZONER_STORE_KEY_FILE; or the key itself in ZONER_STORE_KEY)")
	fs.StringVar(&m.StoreCipher, "store-cipher", cli.Env("ZONER_STORE_CIPHER", m.StoreCipher), "cipher for the data encrypted at rest: chacha or aes (env ZONER_STORE_CIPHER)")
	fs.BoolVar(&m.SyncAlways, "sync-always", cli.EnvBool("ZONER_SYNC_ALWAYS", false), "fsync every event before acknowledging it: survives power loss, not only crashes (env ZONER_SYNC_ALWAYS)")
	writeRate := fs.Float64("write-rate", cli.EnvFloat("ZONER_WRITE_RATE", 20), "writes per second allowed per client, with bursts of five times as many (env ZONER_WRITE_RATE)")
	readRate := fs.Float64("read-rate", cli.EnvFloat("ZONER_READ_RATE", 50), "reads per second allowed per client, with bursts of four times as many (env ZONER_READ_RATE)")
	fs.StringVar(&m.TLSCert, "tls-cert", cli.Env("ZONER_TLS_CERT", ""), "PEM certificate file: serve HTTPS (with -tls-key) (env ZONER_TLS_CERT)")
	fs.StringVar(&m.TLSKey, "tls-key", cli.Env("ZONER_TLS_KEY", ""), "PEM private key file for -tls-cert (env ZONER_TLS_KEY)")
	fs.StringVar(&m.CloudURL, "cloud-url", cli.Env("ZONER_CLOUD_URL", ""), "the cloud's leaf-node URL, nats-leaf://host:7422 or tls://host:7422; with -cloud-creds the hub syncs with the cloud (env ZONER_CLOUD_URL)")
	fs.StringVar(&m.CloudCreds, "cloud-creds", cli.Env("ZONER_CLOUD_CREDS", ""), "the family's cloud credentials file (env ZONER_CLOUD_CREDS)")
	fs.DurationVar(&m.CloudReconnect, "cloud-reconnect", cli.EnvDuration("ZONER_CLOUD_RECONNECT", 2*time.Second), "wait between attempts to link while the cloud cannot be reached (env ZONER_CLOUD_RECONNECT)")
	fs.StringVar(&m.CloudCA, "cloud-ca", cli.Env("ZONER_CLOUD_CA", ""), "PEM file of the authority that signed the cloud's certificate, if the system does not trust it (env ZONER_CLOUD_CA)")
	fs.BoolVar(&m.AcceptLoss, "accept-loss", false, "rebuild: go on when the event log lacks events, saving those the state database holds to a file")
	minFree := fs.Int("min-free", cli.EnvInt("ZONER_MIN_FREE", 0), "bytes kept free on the data directory's disk; writes that would leave less are refused (0: 16 MiB) (env ZONER_MIN_FREE)")
	logFormat := fs.String("log-format", cli.Env("ZONER_LOG_FORMAT", "auto"), "log format: text, json or auto (text on a terminal) (env ZONER_LOG_FORMAT)")
	logLevel := fs.String("log-level", cli.Env("ZONER_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ZONER_LOG_LEVEL)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return fmt.Errorf("HTTPS needs both -tls-cert and -tls-key")
	}
	if (m.CloudURL == "") != (m.CloudCreds == "") {
		return fmt.Errorf("cloud sync needs both -cloud-url and -cloud-creds")
	}
	m.MinFree = int64(*minFree)
	for h := range strings.SplitSeq(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			m.Hosts = append(m.Hosts, h)
		}
	}
	m.Limits = hubhttp.Limits{WritesPerSecond: *writeRate, WriteBurst: int(5 * *writeRate), ReadsPerSecond: *readRate, ReadBurst: int(4 * *readRate)}
	if *lan && !flagSet(fs, "http") && os.Getenv("ZONER_HTTP") == "" {
		m.HTTPAddr = "0.0.0.0:8080"
	}
	var err error
	if m.StoreKey, err = cli.Secret(*keyFile, "ZONER_STORE_KEY"); err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	if m.Logger == nil {
		if m.Logger, err = cli.NewLogger(*logFormat, *logLevel); err != nil {
			return err
		}
	}
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "zoner-hub")
	}
	if runtime.GOOS == "linux" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", "zoner-hub")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "zoner-hub")
	}
	return "zoner-hub-data"
}

// Run starts the hub. For serve it returns once the state has caught up
// with the log and writes are open (the API answers /healthz before
// that); for rebuild and pair it does the work and returns.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if m.launch.Exe == "" {
		m.launch = thisLaunch()
	}
	if m.Command == "pair" {
		p, err := m.pairing()
		if err != nil {
			return err
		}
		tok, err := p.Rotate()
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "New pairing code for this household: %s\nOnce the hub restarts, the old code no longer works and every paired phone pairs again, with this one.\n", tok)
		return nil
	}
	// The caller's ctx bounds the start (catching up may take a while);
	// the background work runs until Close.
	startCtx := ctx
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	if m.store, err = m.openStore(ctx); err != nil {
		return err
	}
	m.store.Now = m.Now
	cipher := server.ChaCha
	switch m.StoreCipher {
	case "chacha", "":
	case "aes":
		cipher = server.AES
	default:
		return fmt.Errorf("store cipher %q: use chacha or aes", m.StoreCipher)
	}
	link, err := m.link()
	if err != nil {
		return err
	}
	hubID, err := m.hubID(ctx)
	if err != nil {
		return err
	}
	m.nats, err = natsjs.Start(ctx, natsjs.Config{
		StoreDir: m.DataDir, Port: m.NATSPort,
		Key: m.StoreKey, Cipher: cipher, SyncAlways: m.SyncAlways,
		Link: link, Name: "zoner-hub-" + hubID,
		MinFree: m.MinFree, FreeSpace: m.FreeSpace,
		Duplicates: logDuplicates,
	}, m.Logger)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	integrity, missing, err := m.checkLog(ctx)
	if err != nil {
		return fmt.Errorf("check the event log: %w", err)
	}
	accepted := integrity.Accepted
	// The log is where each event's JSON lives; the state keeps it only
	// for the events applied lately, past what the log holds on disk now.
	m.store.SetLog(m.nats, integrity.Log.Last, m.RawTail)
	if m.Command == "rebuild" {
		if len(missing) > 0 && !m.AcceptLoss {
			return fmt.Errorf("%s; nothing was changed. `%s` rebuilds from what the log holds, saving the lost events the state database holds to a file", lostReport(integrity, missing), m.launch.command("rebuild -accept-loss", m.DataDir, defaultDataDir()))
		}
		if len(missing) > 0 {
			path, n, err := m.saveLost(ctx, missing)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "Accepting the loss: %s.\n", lostReport(integrity, missing))
			if n > 0 {
				fmt.Fprintf(m.Stdout, "Saved the %d lost events the state database held to %s.\n", n, path)
			}
			accepted = max(accepted, min(missing[len(missing)-1].To, integrity.Log.Last))
			m.Logger.Warn("rebuilding without the events the log lost", "lost", hub.FormatRanges(missing), "saved", n, "file", path)
		}
		if err := m.store.Reset(ctx); err != nil {
			return fmt.Errorf("reset state database: %w", err)
		}
		if err := m.removeSnapshot(); err != nil {
			return err
		}
		if accepted > 0 {
			if err := m.store.SetSetting(ctx, acceptedKey, strconv.FormatUint(accepted, 10)); err != nil {
				return err
			}
		}
		missing = nil
	}
	if m.store.Rebuilt != "" {
		m.Logger.Info("building the state database from the event log", "why", m.store.Rebuilt)
		// The indexes the fold does not read are built once caught up.
		if err := m.store.DeferIndexes(ctx); err != nil {
			return err
		}
	}

	metrics := hub.NewMetrics()
	broker := hub.NewBroker()
	m.replanner = hub.NewReplanner(m.store, &circadian.Planner{}, m.Now, m.Logger, metrics, broker)
	// The last priors saved serve offline; a damaged file is as none.
	m.Priors = hub.NewPriors(filepath.Join(m.DataDir, hub.PriorsFile))
	if err := m.Priors.Load(); err != nil {
		m.Logger.Warn("the body clock's priors were not read; the built-in ones serve until the cloud sends new ones", "err", err)
	}
	m.calibrator = hub.NewCalibrator(m.store, m.Priors, m.Now, m.Logger)
	m.calibrator.OnClock = func(ctx context.Context, member uuid.UUID) {
		m.replanner.Changed(ctx, hub.Changes{Members: map[uuid.UUID]bool{member: true}}, 0)
		broker.Publish(hub.Notice{Kind: "clock", MemberID: &member})
	}
	m.replanner.Clocks = m.calibrator.Clock
	m.Priors.OnRefresh = func() {
		if err := m.calibrator.MarkAll(ctx); err != nil {
			m.Logger.Error("calibrate again with the new priors", "err", err)
		}
	}
	onChange := func(c hub.Changes, seq uint64) {
		m.calibrator.Changed(c)
		m.replanner.Changed(ctx, c, seq)
		broker.Publish(hub.Notice{Kind: "events", Seq: seq})
	}
	applied, err := m.store.AppliedSeq(ctx)
	if err != nil {
		return err
	}
	feed, err := m.nats.OpenFeed(ctx, applied+1)
	if err != nil {
		return err
	}
	if m.projector, err = hub.NewProjector(ctx, m.store, feed, m.nats, m.Logger, metrics, onChange); err != nil {
		return err
	}
	m.projector.AcceptLoss(accepted)
	if len(missing) > 0 {
		// Serve what the state holds; take no writes until the owner acts.
		// A hole past the applied sequence is left to the projector: it
		// applies up to it, then stops.
		if missing[0].From <= integrity.Applied {
			m.projector.SetFault(missing)
		}
		m.Logger.Error("the event log is damaged: "+lostReport(integrity, missing), "action", "stop the hub, run `"+m.launch.command("rebuild -accept-loss", m.DataDir, defaultDataDir())+"`, then start it again")
	}
	m.goRun(func() { m.projector.Run(ctx) })
	if m.store.InMemory() && m.Command == "serve" {
		m.goRun(func() { m.snapshotLoop(ctx) })
	}

	feeds, err := m.feeds()
	if err != nil {
		return err
	}
	api := &hubhttp.Server{Store: m.store, Log: m.nats, Projector: m.projector, Broker: broker, Metrics: metrics,
		Logger: m.Logger, Limits: m.Limits, Now: m.Now, Static: web.Handler(), Feeds: feeds,
		PairCommand: m.launch.command("pair", m.DataDir, defaultDataDir()),
		LANCommand:  m.launch.command("-lan", m.DataDir, defaultDataDir()),
		ImportDir:   m.DataDir, Importer: sleepImporter{}, Clocks: m.calibrator}
	if m.Command == "serve" {
		if err := m.listen(api); err != nil {
			return err
		}
	}
	if err := m.projector.CatchUp(startCtx); err != nil && m.projector.Fault() == nil {
		return fmt.Errorf("catch up with the event log: %w", err)
	}
	if err := m.store.BuildIndexes(ctx); err != nil {
		return err
	}
	// Plans read through the indexes just built: what changed while
	// catching up was noted, and is planned from here.
	m.goRun(func() { m.replanner.Run(ctx) })
	if m.Command == "serve" {
		// What was learned before plans from the start; every member
		// is looked at again in the background.
		if err := m.calibrator.Load(ctx); err != nil {
			return fmt.Errorf("read what was learned of body clocks: %w", err)
		}
		m.goRun(func() { m.calibrator.Run(ctx) })
	}
	clock := syncproto.NewClock(m.Now)
	if h, err := m.store.MaxHLC(ctx); err != nil {
		return err
	} else if !h.IsZero() {
		clock.Observe(h)
	}
	writer, err := hub.NewWriter(ctx, m.nats, m.store, m.projector, clock, metrics)
	if err != nil {
		return err
	}
	if err := m.replanner.ReplanAll(ctx); err != nil {
		return err
	}
	if f := m.projector.Fault(); f != nil && m.Command == "rebuild" {
		return fmt.Errorf("rebuild stopped: %s", f.Message)
	}
	if m.Command == "rebuild" {
		<-m.replanner.Idle()
		seq := m.projector.Applied()
		fmt.Fprintf(m.Stdout, "Rebuilt the state database from %d events in the log.\n", seq)
		return nil
	}
	if link != nil {
		if err := m.startSync(ctx, api, writer, metrics, link.Creds, hubID); err != nil {
			return err
		}
	}
	api.Ready(writer)
	m.announce(m.Stdout, m.lanURLs, api.Pairing, m.newToken)
	m.newToken = ""
	if m.projector.Fault() != nil {
		m.Logger.Error("hub serving reads only: its event log is damaged", "url", m.URL, "data", m.DataDir)
		return nil
	}
	m.Logger.Info("hub ready", "url", m.URL, "data", m.DataDir, "events", m.projector.Applied(), "encrypted_log", m.StoreKey != "")
	return nil
}

// link reads the cloud settings; nil when the hub does not sync.
func (m *Main) link() (*natsjs.Link, error) {
	if m.CloudURL == "" || m.Command != "serve" {
		return nil, nil
	}
	creds, err := syncproto.ReadCredentials(m.CloudCreds)
	if err != nil {
		return nil, err
	}
	l := &natsjs.Link{URL: m.CloudURL, Creds: creds, Reconnect: m.CloudReconnect}
	if m.CloudCA != "" {
		pem, err := os.ReadFile(m.CloudCA)
		if err != nil {
			return nil, fmt.Errorf("read the cloud's certificate authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", m.CloudCA)
		}
		l.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return l, nil
}

// hubID names this hub (to the cloud, and its NATS server among the
// cloud's leaf nodes), made once and kept in the state database.
func (m *Main) hubID(ctx context.Context) (string, error) {
	id, err := m.store.Setting(ctx, "hub.id")
	if err != nil || id != "" {
		return id, err
	}
	id = uuid.NewString()
	return id, m.store.SetSetting(ctx, "hub.id", id)
}

// startSync opens the link's end in the hub and runs the syncer.
func (m *Main) startSync(ctx context.Context, api *hubhttp.Server, w *hub.Writer, metrics *hub.Metrics, creds syncproto.Credentials, id string) error {
	var err error
	if m.cloud, err = m.nats.OpenCloudLink(ctx, creds, id); err != nil {
		return err
	}
	syncer, err := hub.NewSyncer(ctx, m.cloud, w, m.store, creds.FamilyID, metrics, m.Logger)
	if err != nil {
		return err
	}
	api.Linked(syncer)
	api.SignInVia(m.cloud)
	m.goRun(func() { syncer.Run(ctx) })
	m.goRun(func() { m.Priors.Keep(ctx, m.cloud, m.Logger) })
	m.Logger.Info("syncing with the cloud", "url", m.CloudURL, "family", creds.FamilyID, "hub", id)
	return nil
}

func (m *Main) goRun(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// listen binds the HTTP address and serves in the background. A
// non-loopback address turns on the pairing token.
func (m *Main) listen(api *hubhttp.Server) error {
	var tlsConfig *tls.Config
	if m.TLSCert != "" || m.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			return fmt.Errorf("load the TLS certificate and key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", m.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.HTTPAddr, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		var err error
		if api.Pairing, err = m.pairing(); err != nil {
			ln.Close()
			return err
		}
		if !api.Pairing.HasToken() {
			if m.newToken, err = api.Pairing.Rotate(); err != nil {
				ln.Close()
				return err
			}
		}
		m.Logger.Info("serving the local network: requests need the pairing token")
		m.lanURLs = m.phoneURLs(addr, tlsConfig != nil)
		if len(m.lanURLs) > 0 {
			api.LinkBase = m.lanURLs[0]
		}
	}
	api.Hosts = m.serves(addr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	m.URL = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
	// Requests see a context that ends when the server shuts down, so
	// event streams end instead of holding the shutdown up.
	reqCtx, endRequests := context.WithCancel(context.Background())
	m.httpSrv = &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return reqCtx }}
	m.httpSrv.RegisterOnShutdown(endRequests)
	m.goRun(func() {
		if err := m.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server", "err", err)
		}
	})
	return nil
}

// phoneURLs lists the URLs a phone on the local network can open the
// hub at, listening on addr.
func (m *Main) phoneURLs(addr *net.TCPAddr, tls bool) []string {
	ips := []net.IP{addr.IP}
	if addr.IP.IsUnspecified() {
		ifaces, err := machineIfaces()
		if err != nil {
			m.Logger.Warn("cannot list the machine's addresses", "err", err)
		}
		ips = lanIPs(ifaces)
	}
	return hubURLs(ips, m.Hosts, addr.Port, tls)
}

// serves lists the host:port names the hub answers to on addr: the
// address itself; on a loopback or unspecified address the loopback
// names; on an unspecified one every address of the machine's interfaces
// as they are at start; and the names of -hosts.
func (m *Main) serves(addr *net.TCPAddr) []string {
	port := strconv.Itoa(addr.Port)
	ips := []net.IP{addr.IP}
	var names []string
	if addr.IP.IsLoopback() || addr.IP.IsUnspecified() {
		names = append(names, "localhost")
		ips = append(ips, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
	}
	if addr.IP.IsUnspecified() {
		if as, err := net.InterfaceAddrs(); err != nil {
			m.Logger.Warn("cannot list the machine's addresses: the hub answers only to localhost and -hosts", "err", err)
		} else {
			for _, a := range as {
				if n, ok := a.(*net.IPNet); ok {
					ips = append(ips, n.IP)
				}
			}
		}
	}
	for _, ip := range ips {
		if !ip.IsUnspecified() {
			names = append(names, ip.String())
		}
	}
	var out []string
	for _, n := range append(names, m.Hosts...) {
		if _, _, err := net.SplitHostPort(n); err == nil {
			out = append(out, n) // a name with its own port (behind a proxy)
		} else {
			out = append(out, net.JoinHostPort(strings.Trim(n, "[]"), port))
		}
	}
	return out
}

// Close stops the hub: the API, then the background work, then the log
// and the database.
func (m *Main) Close() error {
	var errs []error
	if m.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.httpSrv.Shutdown(ctx); err != nil {
			m.httpSrv.Close()
		}
	}
	if m.cancel != nil {
		m.cancel()
	}
	if m.cloud != nil {
		m.cloud.Close()
	}
	if m.nats != nil {
		m.nats.Close()
	}
	m.wg.Wait()
	if err := m.saveSnapshot(context.Background()); err != nil {
		m.Logger.Warn("cannot save the state snapshot: the next start catches up from the last one, or rebuilds", "err", err)
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
		m.store = nil
	}
	return errors.Join(errs...)
}

// Handler is the HTTP handler the hub serves, for tests that call it
// without a network round trip.
func (m *Main) Handler() http.Handler { return m.httpSrv.Handler }
