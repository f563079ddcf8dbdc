package main

import (
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/natsauth"
	"github.com/zoner-family/zoner/cloud/natspriors"
	"github.com/zoner-family/zoner/cloud/redis"
)

// sessionStore keeps sign-in codes and sessions where the cache is: in
// Redis, shared by every API replica, or in this process's memory (a
// restart signs every device out).
func (m *Main) sessionStore(c cloud.Cache) cloud.SessionStore {
	if rc, ok := c.(*redis.Cache); ok {
		return rc.Sessions()
	}
	return memcache.NewSessions(m.Now)
}

// serveSignIns answers the hubs' requests for sign-in links on the
// cloud's NATS, when the API has one; links start with -public-url, or
// the API's own address.
func (m *Main) serveSignIns() error {
	if m.nc == nil || m.sessions == nil {
		m.Logger.Warn("sign-in links are off: the API has no NATS (-nats-url) to hear hubs on")
		return nil
	}
	public := m.PublicURL
	if public == "" {
		public = m.APIURL
	}
	r, err := natsauth.Serve(m.nc, &cloud.Auth{Store: m.sessions, Now: m.Now}, public, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(r.Close)
	m.Logger.Info("answering hubs' sign-in requests", "public_url", public)
	return nil
}

// servePriors answers the hubs' requests for the body clock's priors on
// the cloud's NATS, from the warehouse, when the API has a NATS.
func (m *Main) servePriors(w cloud.Warehouse) error {
	if m.nc == nil {
		m.Logger.Warn("priors for hubs are off: the API has no NATS (-nats-url) to hear hubs on")
		return nil
	}
	r, err := natspriors.Serve(m.nc, w, natspriors.Config{Now: m.Now, Logger: m.Logger})
	if err != nil {
		return err
	}
	m.onClose(r.Close)
	m.Logger.Info("answering hubs' priors requests")
	return nil
}
