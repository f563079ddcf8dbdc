package main

// The callout and callout-keys commands: the auth callout that admits the
// families' hubs to a configured NATS cluster with the embedded server's
// rule, and the account key pair its answers are signed with.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/cli"
)

// calloutDefaults are the callout command's own defaults, where they
// differ from serve's: its NATS user and its ops port.
func (m *Main) calloutDefaults() {
	if m.NATSUser == edge.ServiceUser {
		m.NATSUser = natsedge.CalloutUser
	}
	if m.HTTPAddr == "127.0.0.1:9464" {
		m.HTTPAddr = "127.0.0.1:9466"
	}
}

// calloutFlags reads the issuer seed (callout) or where to write it
// (callout-keys).
func (m *Main) calloutFlags(seedFile string) error {
	switch m.Command {
	case "callout":
		seed, err := cli.Secret(seedFile, "ZONER_CALLOUT_ISSUER_SEED")
		if err != nil {
			return fmt.Errorf("-issuer-seed-file: %w", err)
		}
		m.IssuerSeed = []byte(seed)
	case "callout-keys":
		m.IssuerSeedFile = seedFile
	}
	return nil
}

// writeCalloutKeys makes an account key pair for the callout: the seed
// goes to IssuerSeedFile (mode 0600, never over an existing file), the
// public key — the server's auth_callout.issuer — to Stdout.
func (m *Main) writeCalloutKeys() error {
	if m.IssuerSeedFile == "" {
		return errors.New("callout-keys: say where to write the seed: -issuer-seed-file or ZONER_CALLOUT_ISSUER_SEED_FILE")
	}
	kp, err := nkeys.CreateAccount()
	if err != nil {
		return fmt.Errorf("callout-keys: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("callout-keys: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return fmt.Errorf("callout-keys: %w", err)
	}
	f, err := os.OpenFile(m.IssuerSeedFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("callout-keys: %w (a seed already there may be in use: move it away first)", err)
	}
	_, err = f.Write(append(seed, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(m.IssuerSeedFile)
		return fmt.Errorf("callout-keys: write the seed: %w", err)
	}
	fmt.Fprintln(m.Stdout, pub)
	return nil
}

// runCallout connects as the callout user and answers the servers'
// authorization requests until ctx ends or Close; the connection is
// remade for ever.
func (m *Main) runCallout(ctx context.Context) error {
	if m.CalloutMetrics == nil {
		m.CalloutMetrics = natsedge.NewCalloutMetrics()
	}
	var err error
	m.callout, err = natsedge.NewCallout(natsedge.CalloutConfig{Secret: m.Secret, IssuerSeed: m.IssuerSeed, Metrics: m.CalloutMetrics}, m.Logger)
	if err != nil {
		return fmt.Errorf("%w (-secret-file, -issuer-seed-file)", err)
	}
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	closed := make(chan struct{})
	if m.NATSConn != nil {
		m.nc = m.NATSConn
	} else {
		m.nc, err = nats.Connect(m.NATSURL, nats.Name("zoner-bridge-callout"), nats.UserInfo(m.NATSUser, m.NATSPassword),
			nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.RetryOnFailedConnect(true), nats.IgnoreAuthErrorAbort(),
			nats.ConnectHandler(func(*nats.Conn) { m.Logger.Info("nats connected") }),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { m.Logger.Warn("nats disconnected", "err", err) }),
			nats.ReconnectHandler(func(*nats.Conn) { m.Logger.Info("nats reconnected") }),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { m.Logger.Warn("nats", "err", err) }),
			nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err != nil {
			return fmt.Errorf("connect to %s: %w", m.NATSURL, err)
		}
	}
	if err := m.callout.Serve(m.nc); err != nil {
		return err
	}
	ready := func(context.Context) error { return m.callout.Ready() }
	if err := m.serveHTTP(m.CalloutMetrics.WritePrometheus, ready); err != nil {
		return err
	}
	m.goRun(func() {
		<-ctx.Done()
		// Answer what was received, then let go of the connection.
		m.callout.Close()
		if m.nc == m.NATSConn {
			return
		}
		if err := m.nc.Drain(); err != nil {
			m.nc.Close()
			return
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			m.nc.Close()
		}
	})
	m.Logger.Info("auth callout answering", "nats", m.NATSURL, "user", m.NATSUser, "issuer", m.callout.Issuer(), "http", m.MetricsURL)
	return nil
}
