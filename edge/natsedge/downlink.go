package natsedge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
)

// FetchServer is the cloud's end of the downlink: it answers each family's
// hubs' fetch requests with the family's events from the ingest stream,
// those its other hubs sent and those the cloud made (flight news).
// Several replicas share the work in a queue group (FetchQueue).
type FetchServer struct {
	stream jetstream.Stream
	logger *slog.Logger
	sub    *nats.Subscription
}

// FetchQueue is the queue group the fetch servers share.
const FetchQueue = "zoner-downlink"

// ServeFetches starts answering on nc (a service connection) until Close.
func ServeFetches(ctx context.Context, nc *nats.Conn, logger *slog.Logger) (*FetchServer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.Stream(ctx, syncproto.IngestStream)
	if err != nil {
		return nil, fmt.Errorf("downlink: ingest stream: %w", err)
	}
	d := &FetchServer{stream: stream, logger: logger}
	if d.sub, err = nc.QueueSubscribe(syncproto.DownRoot+".*.fetch", FetchQueue, d.serve); err != nil {
		return nil, fmt.Errorf("downlink: %w", err)
	}
	return d, nil
}

// Close stops answering.
func (d *FetchServer) Close() { d.sub.Unsubscribe() }

// serve answers one FetchRequest.
func (d *FetchServer) serve(msg *nats.Msg) {
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
func (d *FetchServer) read(ctx context.Context, family string, req syncproto.FetchRequest) (syncproto.FetchReply, error) {
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
