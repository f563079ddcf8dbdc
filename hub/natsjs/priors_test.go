package natsjs

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/syncproto"
)

// The hub asks on its family's priors subject and reads the answer; a
// refusal and a link that is down are errors.
func TestCloudLinkPriors(t *testing.T) {
	var linked atomic.Bool
	s, c := openTestLink(t, 0, &linked)
	ctx := context.Background()
	if _, err := c.Priors(ctx); err == nil {
		t.Error("Priors with the link down: no error")
	}
	linked.Store(true)

	nc, err := nats.Connect("", nats.InProcessServer(s.ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var reply atomic.Value
	reply.Store(syncproto.PriorsReply{Priors: []syncproto.ClockPrior{
		{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeLate, TauHours: 24.5, TauSDHours: 0.18, People: 40},
	}})
	if _, err := nc.Subscribe(syncproto.PriorsSubject(c.creds.FamilyID), func(m *nats.Msg) {
		b, _ := json.Marshal(reply.Load())
		m.Respond(b)
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	got, err := c.Priors(ctx)
	if err != nil || len(got) != 1 || got[0].TauHours != 24.5 || got[0].People != 40 {
		t.Fatalf("Priors = %+v, %v; want the late adults' prior", got, err)
	}
	reply.Store(syncproto.PriorsReply{Error: "the cloud could not read its priors"})
	if got, err := c.Priors(ctx); err == nil {
		t.Errorf("Priors with a refusal = %+v, no error", got)
	}
}
