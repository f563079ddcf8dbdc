// Package natspub sends the cloud's own events (recommendations, flight
// updates) down to families' hubs: it publishes each event into the
// cloud's ingest stream, from which hubs fetch their family's events and
// the bridge forwards everything to Kafka, and then rings the family's
// hubs. Its Publisher is the cloud's Downlink.
package natspub

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/syncproto"
)

// Publisher publishes events into the cloud's ingest stream. It
// implements cloud.Downlink.
type Publisher struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// New returns a publisher over nc, a connection of the cloud's service
// user. domain is the cloud's JetStream domain (syncproto.CloudDomain), or
// "" for none.
func New(nc *nats.Conn, domain string) (*Publisher, error) {
	var js jetstream.JetStream
	var err error
	if domain != "" {
		js, err = jetstream.NewWithDomain(nc, domain)
	} else {
		js, err = jetstream.New(nc)
	}
	if err != nil {
		return nil, fmt.Errorf("downlink: jetstream: %w", err)
	}
	return &Publisher{nc: nc, js: js}, nil
}

// Send stores an event in the ingest stream with its id as Nats-Msg-Id (so
// a retry within the stream's duplicate window is stored once) and rings
// the family's hubs.
func (d *Publisher) Send(ctx context.Context, h syncproto.Header, raw []byte) error {
	msg := nats.NewMsg(syncproto.IngestSubject(h.FamilyID, h.Type))
	msg.Data = raw
	msg.Header.Set(syncproto.HeaderID, h.ID.String())
	msg.Header.Set(syncproto.HeaderType, string(h.Type))
	msg.Header.Set(syncproto.HeaderFamily, h.FamilyID.String())
	if h.MemberID != uuid.Nil {
		msg.Header.Set(syncproto.HeaderMember, h.MemberID.String())
	}
	msg.Header.Set(syncproto.HeaderV, strconv.Itoa(h.V))
	if _, err := d.js.PublishMsg(ctx, msg, jetstream.WithMsgID(h.ID.String()), jetstream.WithExpectStream(syncproto.IngestStream)); err != nil {
		return fmt.Errorf("downlink: store %s event: %w", h.Type, err)
	}
	// The ring only hurries hubs along: they also fetch every 30 s.
	if err := d.nc.Publish(syncproto.RingSubject(h.FamilyID), []byte(syncproto.RingFromCloud)); err != nil {
		return fmt.Errorf("downlink: ring family %s: %w", h.FamilyID, err)
	}
	return nil
}
