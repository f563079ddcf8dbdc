// Package redis is the cloud's recommendation cache on a Redis server: it
// implements cloud.Cache with go-redis. Values are stored with SET key
// value PX ttl, so Redis itself expires them.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/zoner-family/zoner/cloud"
)

// Config says how to reach the Redis server. Zero durations and sizes take
// go-redis's defaults (a pool of 10 connections per CPU, 5 s timeouts).
//
// Its String, GoString and LogValue never show Password.
type Config struct {
	// Addr is the server's host:port, like "127.0.0.1:6379". Required.
	Addr string
	// Username and Password authenticate with AUTH (Username empty for the
	// default user).
	Username string
	Password string `json:"-"`
	// DB is the database number to SELECT (0 to 15 on a default server).
	DB int
	// TLS, when not nil, dials with TLS using this configuration.
	TLS *tls.Config
	// PoolSize is the most connections kept open.
	PoolSize int
	// DialTimeout bounds connecting; ReadTimeout and WriteTimeout bound one
	// command's socket reads and writes. A context deadline shorter than
	// these wins.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
}

// String describes c for a log line or an error, without the password.
func (c Config) String() string {
	return fmt.Sprintf("redis{addr=%s user=%q password=%s db=%d tls=%t pool=%d dial=%s read=%s write=%s}",
		c.Addr, c.Username, c.passwordState(), c.DB, c.TLS != nil, c.PoolSize,
		c.DialTimeout, c.ReadTimeout, c.WriteTimeout)
}

// GoString is String, so that %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// LogValue logs c as a group without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("user", c.Username),
		slog.String("password", c.passwordState()),
		slog.Int("db", c.DB),
		slog.Bool("tls", c.TLS != nil),
		slog.Int("pool_size", c.PoolSize),
		slog.Duration("dial_timeout", c.DialTimeout),
		slog.Duration("read_timeout", c.ReadTimeout),
		slog.Duration("write_timeout", c.WriteTimeout),
	)
}

// passwordState says whether a password is set, never what it is.
func (c Config) passwordState() string {
	if c.Password == "" {
		return "none"
	}
	return "set"
}

// minIdleConns is how many idle connections the pool keeps open.
const minIdleConns = 4

// Cache is a cloud.Cache on a Redis server. It is safe for concurrent use:
// go-redis keeps a pool of connections.
type Cache struct {
	rdb  *goredis.Client
	cfg  Config
	log  *slog.Logger
	once sync.Once
	err  error // Close's result
}

var _ cloud.Cache = (*Cache)(nil)

// New connects to the server that cfg names and pings it once, so that a
// wrong address or password fails here rather than at the first request.
// ctx bounds that ping. A nil logger logs nothing.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Cache, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Addr == "" {
		return nil, errors.New("redis: no address (Config.Addr)")
	}
	rdb := goredis.NewClient(&goredis.Options{
		Addr:         cfg.Addr,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		TLSConfig:    cfg.TLS,
		PoolSize:     cfg.PoolSize,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		// A cache that is down should fail fast (the caller computes the
		// value instead): one dial per attempt, not five; go-redis still
		// retries a failed command MaxRetries (3) times with backoff.
		DialerRetries: 1,
		// Deadlines of the caller's context bound each command.
		ContextTimeoutEnabled: true,
		// One standalone server: no cluster maintenance notices to follow.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// The API reads through this client on every request. RESP2: GET
		// and SET answer the same, and no command pays for looking for
		// RESP3 push notifications, which this cache never asks for.
		Protocol: 2,
		// Connections ready before the first requests, and kept while
		// traffic is quiet, so a read seldom waits for a dial.
		MinIdleConns: minIdleConns,
	})
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", cfg.Addr, err)
	}
	logger.Info("redis cache connected", "config", cfg)
	return &Cache{rdb: rdb, cfg: cfg, log: logger}, nil
}

// Get returns the value under key, or cloud.ErrMiss when there is none
// (never set, expired, evicted or flushed).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := c.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, cloud.ErrMiss
	}
	if err != nil {
		return nil, fmt.Errorf("redis: get: %w", err)
	}
	return b, nil
}

// Set stores value under key for ttl, which must be positive; Redis keeps
// milliseconds, so ttl is rounded up to a whole one.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	px, err := millis(ttl)
	if err != nil {
		return fmt.Errorf("redis: set: %w", err)
	}
	if err := c.rdb.Process(ctx, setPX(ctx, key, value, px)); err != nil {
		return fmt.Errorf("redis: set: %w", err)
	}
	return nil
}

// SetMany stores every item for ttl in one round trip (a pipeline of SET
// commands). It is not atomic: on an error some items may be stored. An
// empty map does nothing.
func (c *Cache) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	px, err := millis(ttl)
	if err != nil {
		return fmt.Errorf("redis: set many: %w", err)
	}
	if len(items) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	for key, value := range items {
		if err := pipe.Process(ctx, setPX(ctx, key, value, px)); err != nil {
			return fmt.Errorf("redis: set many: %w", err)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: set many: %w", err)
	}
	return nil
}

// Ping checks that the server answers.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping %s: %w", c.cfg.Addr, err)
	}
	return nil
}

// Close closes the connections. Calls after the first do nothing and
// return the first's result; Get, Set and Ping fail after it.
func (c *Cache) Close() error {
	c.once.Do(func() {
		if err := c.rdb.Close(); err != nil {
			c.err = fmt.Errorf("redis: close: %w", err)
		}
		c.log.Debug("redis cache closed", "addr", c.cfg.Addr)
	})
	return c.err
}

// setPX is SET key value PX px.
func setPX(ctx context.Context, key string, value []byte, px int64) *goredis.StatusCmd {
	return goredis.NewStatusCmd(ctx, "set", key, value, "px", strconv.FormatInt(px, 10))
}

// millis is ttl in whole milliseconds for PX, rounded up.
func millis(ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("ttl must be positive, got %s", ttl)
	}
	ms := ttl.Milliseconds()
	if ttl%time.Millisecond != 0 {
		ms++ // round up: never shorter than asked
	}
	return ms, nil
}
