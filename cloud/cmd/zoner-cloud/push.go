package main

import (
	"cmp"
	"context"
	"flag"
	"path/filepath"
	"time"

	"github.com/zoner-family/zoner/cloud"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/webpush"
	"github.com/zoner-family/zoner/internal/cli"
)

// vapidKeysFile is where all keeps the VAPID key pair it made, in DATA.
const vapidKeysFile = "vapid-keys.json"

// pushStoreFile is where all keeps subscriptions, settings and the
// sent-log with the in-process cache, in DATA.
const pushStoreFile = "push.json"

// defaultVAPIDSubject is the contact given to push services when none is
// configured; production sets -vapid-subject.
const defaultVAPIDSubject = "mailto:zoner@localhost"

// PushConfig configures Web Push reminders (api, recommender, all).
type PushConfig struct {
	// VAPIDKey is the key pair (webpush.ParseKeys: JSON, or the private
	// key alone); empty turns push off, except for all, which makes one
	// in DATA.
	VAPIDKey string
	// Subject is the contact push services may reach the sender at.
	Subject string
	// Lead is how long before an item its reminder goes out.
	Lead time.Duration

	keyFile string
	keys    webpush.Keys
	store   cloud.PushStore
}

func (p *PushConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.keyFile, "vapid-key-file", cli.Env("ZONER_VAPID_KEY_FILE", ""), "file holding the VAPID key pair for Web Push (JSON {\"public\",\"private\"} or the base64url private key) (env ZONER_VAPID_KEY_FILE, or the key in ZONER_VAPID_KEY); all makes one in DATA when none is given; without one, api and the recommender send no push")
	fs.StringVar(&p.Subject, "vapid-subject", cli.Env("ZONER_VAPID_SUBJECT", defaultVAPIDSubject), "contact for the push services, mailto: or https: (env ZONER_VAPID_SUBJECT)")
	fs.DurationVar(&p.Lead, "push-lead", cli.EnvDuration("ZONER_PUSH_LEAD", cloud.DefaultNotifyLead), "how long before a planned item its reminder is pushed (env ZONER_PUSH_LEAD)")
}

// openPush reads the VAPID keys and picks the push store: the Redis cache
// itself, or for the in-process cache a store saved in DATA (all) or in
// memory (api or recommender alone: not shared between processes). Push
// stays off without keys.
func (m *Main) openPush(c cloud.Cache) error {
	p := &m.Push
	key, err := cli.Secret(p.keyFile, "ZONER_VAPID_KEY")
	if err != nil {
		return err
	}
	if p.VAPIDKey == "" {
		p.VAPIDKey = key
	}
	switch {
	case p.VAPIDKey != "":
		if p.keys, err = webpush.ParseKeys([]byte(p.VAPIDKey)); err != nil {
			return err
		}
	case m.Command == "all":
		if p.keys, err = webpush.LoadOrCreate(filepath.Join(m.DataDir, vapidKeysFile)); err != nil {
			return err
		}
	default:
		m.Logger.Info("no VAPID key (-vapid-key-file): Web Push reminders are off")
		return nil
	}
	if s, ok := c.(cloud.PushStore); ok {
		p.store = s
		return nil
	}
	path := ""
	if m.Command == "all" {
		path = filepath.Join(m.DataDir, pushStoreFile)
	} else {
		m.Logger.Warn("push subscriptions are kept in this process's memory: use -cache redis to share them between the API and the recommender")
	}
	p.store, err = memcache.OpenPush(path, nil)
	return err
}

// apiBackend is the service, with the push routes' backend when push is
// on.
func (m *Main) apiBackend(svc *cloud.Service) chttp.Backend {
	if m.Push.store == nil {
		return svc
	}
	return struct {
		*cloud.Service
		*cloud.PushAPI
	}{svc, &cloud.PushAPI{Store: m.Push.store, PublicKey: m.Push.keys.Public, Logger: m.Logger}}
}

// startNotifier runs the reminders' scheduler over the recommender's
// plans, when push is on.
func (m *Main) startNotifier(ctx context.Context, r *cloud.Recommender) error {
	if m.Push.store == nil {
		return nil
	}
	sender, err := webpush.New(m.Push.keys, cmp.Or(m.Push.Subject, defaultVAPIDSubject), nil)
	if err != nil {
		return err
	}
	n := &cloud.Notifier{Plans: r, Store: m.Push.store, Pusher: sender, Lead: m.Push.Lead, Now: m.Now, Logger: m.Logger}
	m.goRun("notifier", func() error { n.Run(ctx); return nil })
	return nil
}
