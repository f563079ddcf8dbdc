package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/syncproto"
)

// Downlink limits: a reply stays well under a hub's 1 MB message limit.
const (
	downlinkMaxEvents = 1000
	downlinkMaxBytes  = 512 << 10
	// ringEvery is the most often a family's hubs are told that the cloud
	// stored something new for them.
	ringEvery = 250 * time.Millisecond
)

// Downlink serves each family's hubs the family's events from the ingest
// stream — those its other hubs sent and those the cloud made (flight
// news) — and rings them when there is something new. Several replicas
// share the work in a queue group.
type Downlink struct {
	nc     *nats.Conn
	stream jetstream.Stream
	logger *slog.Logger
	subs   []*nats.Subscription

	mu    sync.Mutex
	rings map[string]*ringState
}

type ringState struct {
	timer   *time.Timer
	pending bool
}

// ServeDownlink starts answering on nc (a service connection) until Close.
func ServeDownlink(ctx context.Context, nc *nats.Conn, logger *slog.Logger) (*Downlink, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.Stream(ctx, IngestStream)
	if err != nil {
		return nil, fmt.Errorf("downlink: ingest stream: %w", err)
	}
	d := &Downlink{nc: nc, stream: stream, logger: logger, rings: map[string]*ringState{}}
	fetch, err := nc.QueueSubscribe(syncproto.DownRoot+".*.fetch", "zoner-downlink", d.serve)
	if err != nil {
		return nil, fmt.Errorf("downlink: %w", err)
	}
	stored, err := nc.QueueSubscribe(StoredRoot+".>", "zoner-downlink", d.stored)
	if err != nil {
		fetch.Unsubscribe()
		return nil, fmt.Errorf("downlink: %w", err)
	}
	d.subs = []*nats.Subscription{fetch, stored}
	return d, nil
}

// Close stops answering.
func (d *Downlink) Close() {
	for _, s := range d.subs {
		s.Unsubscribe()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.rings {
		r.timer.Stop()
	}
}

// serve answers one FetchRequest.
func (d *Downlink) serve(msg *nats.Msg) {
	family := strings.Split(msg.Subject, ".")[2]
	reply := func(r syncproto.FetchReply) {
		if err := msg.Respond(syncproto.MarshalFetchReply(r)); err != nil {
			d.logger.Warn("downlink: reply not sent", "family", family, "err", err)
		}
	}
	var req syncproto.FetchRequest
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		reply(syncproto.FetchReply{Error: "the request is not a fetch request: " + err.Error()})
		return
	}
	if _, err := uuid.Parse(family); err != nil {
		reply(syncproto.FetchReply{Error: "not a family subject"})
		return
	}
	r, err := d.read(context.Background(), family, req)
	if err != nil {
		d.logger.Warn("downlink: read failed", "family", family, "err", err)
		reply(syncproto.FetchReply{Last: req.After, Error: err.Error()})
		return
	}
	reply(r)
}

// read collects the family's events after req.After.
func (d *Downlink) read(ctx context.Context, family string, req syncproto.FetchRequest) (syncproto.FetchReply, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	limit := req.Max
	if limit <= 0 || limit > downlinkMaxEvents {
		limit = downlinkMaxEvents
	}
	filter := syncproto.IngestRoot + "." + family + ".>"
	r := syncproto.FetchReply{Last: req.After}
	size := 0
	for len(r.Events) < limit {
		m, err := d.stream.GetMsg(ctx, r.Last+1, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return r, nil
		}
		if err != nil {
			return r, fmt.Errorf("read the ingest stream: %w", err)
		}
		if len(r.Events) > 0 && size+len(m.Data) > downlinkMaxBytes {
			r.More = true
			return r, nil
		}
		r.Last = m.Sequence
		if req.Hub != "" && m.Header.Get(syncproto.HeaderHub) == req.Hub {
			continue // the asking hub sent it
		}
		r.Events = append(r.Events, m.Data)
		size += len(m.Data)
	}
	r.More = true
	return r, nil
}

// stored rings the family's hubs, at most once per ringEvery.
func (d *Downlink) stored(msg *nats.Msg) {
	parts := strings.SplitN(msg.Subject, ".", 4)
	if len(parts) < 4 {
		return
	}
	family := parts[2]
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rings[family]; ok {
		r.pending = true
		return
	}
	d.ring(family)
	r := &ringState{}
	r.timer = time.AfterFunc(ringEvery, func() { d.settle(family) })
	d.rings[family] = r
}

// settle ends a family's quiet period, ringing again if anything came in
// during it.
func (d *Downlink) settle(family string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.rings[family]
	if !ok {
		return
	}
	if r.pending {
		r.pending = false
		d.ring(family)
		r.timer.Reset(ringEvery)
		return
	}
	delete(d.rings, family)
}

func (d *Downlink) ring(family string) {
	if err := d.nc.Publish(syncproto.DownRoot+"."+family+".stored.ring", nil); err != nil {
		d.logger.Warn("downlink: ring not sent", "family", family, "err", err)
	}
}
