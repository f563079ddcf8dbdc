// Package natsjs is the hub's event log: an embedded nats-server with
// JetStream (domain "hub", file store in the data directory), reached over
// an in-process connection. It implements hub.Log and hub.Feed.
package natsjs

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/retry"
	"github.com/zoner-family/zoner/syncproto"
)

// The log's names.
const (
	StreamName   = "EVENTS"
	SubjectRoot  = "zoner.events"
	ProjectorKey = "projector"
)

// HeaderVia marks, in the hub's log, an event that came down from the
// cloud: the uplink does not send it back up. (The other headers on every
// event message are syncproto's, so relays route without decoding.)
const HeaderVia = "Zoner-Via"

// Config says how to run the embedded server.
type Config struct {
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	// Port is the client port to listen on: 0 picks a free one, negative
	// (the default for the hub) listens on none.
	Port int
	Host string
	// Key, when set, encrypts the store at rest with Cipher.
	Key    string
	Cipher server.StoreCipher
	// SyncAlways makes every write fsync before its ack: survives power
	// loss, not just a crash of the process, at some cost in latency.
	SyncAlways bool
	// Duplicates is how long the log remembers ids to drop repeats; the
	// hub's state database remembers them for ever after that.
	Duplicates time.Duration
	// Link, when set, makes the hub a leaf node of the cloud's servers.
	Link *Link
	// Name is the server's name: each hub linked to the cloud needs its
	// own. Default "zoner-hub".
	Name string
	// MinFree is how many bytes the hub keeps free on the log's disk:
	// writes that would leave less are refused with hub.ErrStorageFull
	// (JetStream, should a write find the disk full, stops altogether).
	// Default DefaultMinFree; negative for no check.
	MinFree int64
	// FreeSpace reports the bytes free on the log's disk; nil asks the
	// file system. Tests set it to play a full disk.
	FreeSpace func() (uint64, error)
	// MaxBytes, when positive, limits the stream's size: a write past it
	// is refused as hub.ErrStorageFull.
	MaxBytes int64
	// AppendTimeout bounds the wait for the log to store a write; default
	// 10 s.
	AppendTimeout time.Duration
}

// DefaultMinFree is the free space the hub keeps on the log's disk.
const DefaultMinFree = 16 << 20

// Link is how the hub reaches the cloud.
type Link struct {
	// URL of the cloud's leaf-node port: nats-leaf://host:7422, or
	// tls://host:7422.
	URL   string
	Creds syncproto.Credentials
	// TLS, when set, is used for the link (a tls:// URL needs it or the
	// system's roots).
	TLS *tls.Config
	// Reconnect is how long to wait between attempts while the link is
	// down; the server tries for ever. Default 2 s.
	Reconnect time.Duration
}

// Server is the embedded nats-server and a connection to it.
type Server struct {
	ns     *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	logger *slog.Logger

	storeDir      string
	minFree       uint64
	freeSpace     func() (uint64, error)
	appendTimeout time.Duration

	// appended is the newest sequence an Append or AppendGroups of this
	// server stored, and grew is closed and replaced whenever it grows:
	// the projector waits on it rather than on the consumer.
	appendMu sync.Mutex
	appended uint64
	grew     chan struct{}
}

// noteAppended records the sequences an append stored.
func (s *Server) noteAppended(acks []hub.Appended) {
	var last uint64
	for _, a := range acks {
		last = max(last, a.Seq)
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if last > s.appended {
		s.appended = last
		close(s.grew)
		s.grew = make(chan struct{})
	}
}

// Start runs the server, connects to it in-process and makes sure the
// events stream exists.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	opts := &server.Options{
		ServerName:             cmp.Or(cfg.Name, "zoner-hub"),
		Host:                   cfg.Host,
		Port:                   cfg.Port,
		DontListen:             cfg.Port < 0,
		JetStream:              true,
		JetStreamDomain:        syncproto.HubDomain,
		StoreDir:               cfg.StoreDir,
		JetStreamKey:           cfg.Key,
		JetStreamCipher:        cfg.Cipher,
		SyncAlways:             cfg.SyncAlways,
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		MaxPayload:             1 << 20,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if cfg.Port < 0 {
		opts.Port = 0
	}
	if l := cfg.Link; l != nil {
		u, err := url.Parse(l.URL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("cloud url %q: want nats-leaf://host:port or tls://host:port", l.URL)
		}
		u.User = url.UserPassword(l.Creds.FamilyID.String(), l.Creds.Secret)
		remote := &server.RemoteLeafOpts{URLs: []*url.URL{u}, TLSConfig: l.TLS, TLS: l.TLS != nil || u.Scheme == "tls",
			// s2_fast, not the server's s2_auto: auto picks by the link's
			// round trip, and a busy hub's long round trips made it pick
			// s2_best, whose CPU a small hub cannot spare; s2_fast still
			// shrinks the JSON events on a home upload link.
			Compression: server.CompressionOpts{Mode: server.CompressionS2Fast}}
		if remote.TLS && remote.TLSConfig == nil {
			remote.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		}
		opts.LeafNode.Remotes = []*server.RemoteLeafOpts{remote}
		opts.LeafNode.ReconnectInterval = l.Reconnect
		if opts.LeafNode.ReconnectInterval <= 0 {
			opts.LeafNode.ReconnectInterval = 2 * time.Second
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats server: not ready after 30 s (is the store key right?)")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("zoner-hub"), nats.MaxReconnects(-1))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("connect in-process: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Server{ns: ns, nc: nc, js: js, logger: logger, storeDir: cfg.StoreDir, freeSpace: cfg.FreeSpace,
		appendTimeout: cmp.Or(cfg.AppendTimeout, 10*time.Second), grew: make(chan struct{})}
	switch {
	case cfg.MinFree == 0:
		s.minFree = DefaultMinFree
	case cfg.MinFree > 0:
		s.minFree = uint64(cfg.MinFree)
	}
	if s.freeSpace == nil {
		s.freeSpace = func() (uint64, error) { return diskFree(cfg.StoreDir) }
	}
	if cfg.MinFree < 0 {
		s.freeSpace = func() (uint64, error) { return math.MaxUint64, nil }
	}
	// A stream on disk that the server did not load is one it could not
	// read: almost always a wrong or missing key. Creating it anew would
	// fail slowly or, worse, start an empty log.
	onDisk := filepath.Join(cfg.StoreDir, "jetstream", "$G", "streams", StreamName)
	if _, err := os.Stat(onDisk); err == nil {
		if _, err := js.Stream(ctx, StreamName); errors.Is(err, jetstream.ErrStreamNotFound) {
			s.Close()
			return nil, fmt.Errorf("the event log in %s exists but cannot be read: the store key is wrong or missing (the log must be opened with the key it was written with, or none if it was written without)", onDisk)
		}
	}
	dup := cfg.Duplicates
	if dup <= 0 {
		dup = time.Hour
	}
	s.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Every event of the family, as received: the hub's source of truth.",
		Subjects:    []string{SubjectRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  syncproto.MaxEnvelopeBytes + 4096,
		Duplicates:  dup,
		Replicas:    1,
		MaxBytes:    cmp.Or(cfg.MaxBytes, -1),
		// A batch of events is stored all or none.
		AllowAtomicPublish: true,
		// Each block of the log, once full, is compressed (and then
		// encrypted, with a store key). A log made without compression
		// is updated to it here, which the server applies from its next
		// start on; the blocks full before stay as they are.
		Compression: jetstream.S2Compression,
		// ReadRaw reads events by sequence with direct gets.
		AllowDirect: true,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("events stream: %w", err)
	}
	return s, nil
}

// Close drains nothing: acknowledged events are on disk already.
func (s *Server) Close() {
	if s.nc != nil {
		s.nc.Close()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// ClientURL is the client URL when the server listens, "" otherwise.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Conn is the in-process connection.
func (s *Server) Conn() *nats.Conn { return s.nc }

// Subject is where an event is published: by family and type.
func Subject(h syncproto.Header) string {
	return SubjectRoot + "." + h.FamilyID.String() + "." + string(h.Type)
}

// Append publishes events in order and waits until JetStream has stored
// them (or recognised each repeat by its id). A batch of several events is
// one atomic publish: JetStream stores all of them or none. It fails fast
// with hub.ErrStorageFull when the disk (or the log's limit) has no room,
// and gives up after AppendTimeout rather than wait on a log that stopped.
func (s *Server) Append(ctx context.Context, events []hub.Event) ([]hub.Appended, error) {
	if len(events) == 0 {
		return nil, nil
	}
	size := 0
	for _, e := range events {
		size += len(e.Raw) + 512
	}
	if err := s.checkSpace(uint64(size)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.appendTimeout)
	defer cancel()
	if len(events) > 1 {
		out, err := s.appendAtomic(ctx, events)
		if !errors.Is(err, errBatchRepeats) {
			if err == nil {
				s.noteAppended(out)
			}
			return out, storageErr(err)
		}
		// An event of the batch is in the log already: publish one by
		// one, which tells each repeat from the new events.
	}
	out, err := s.appendEach(ctx, events)
	if err == nil {
		s.noteAppended(out)
	}
	return out, storageErr(err)
}

// AppendGroups appends the events of several writes in one go, in order:
// each group of several events is one atomic batch, and the groups of one
// event are published without waiting for each other, so that many small
// writes cost about one round trip to the log rather than one each (an
// atomic batch costs a few milliseconds more than its messages: JetStream
// stages it on disk). On error nothing is acknowledged, though the groups
// before the failure may be stored: a retry stores none of them twice.
func (s *Server) AppendGroups(ctx context.Context, groups [][]hub.Event) ([]hub.Appended, error) {
	size, n := 0, 0
	for _, g := range groups {
		for _, e := range g {
			size += len(e.Raw) + 512
		}
		n += len(g)
	}
	if n == 0 {
		return nil, nil
	}
	if err := s.checkSpace(uint64(size)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.appendTimeout)
	defer cancel()
	out := make([]hub.Appended, n)
	var futures []jetstream.PubAckFuture
	var at []int // the index in out of each future's event
	i := 0
	for _, g := range groups {
		if len(g) == 1 {
			f, err := s.js.PublishMsgAsync(message(g[0]), jetstream.WithExpectStream(StreamName))
			if err != nil {
				return nil, storageErr(fmt.Errorf("publish: %w", err))
			}
			futures, at = append(futures, f), append(at, i)
			i++
			continue
		}
		acks, err := s.appendAtomic(ctx, g)
		if errors.Is(err, errBatchRepeats) {
			acks, err = s.appendEach(ctx, g)
		}
		if err != nil {
			return nil, storageErr(err)
		}
		i += copy(out[i:], acks)
	}
	for k, f := range futures {
		select {
		case ack := <-f.Ok():
			out[at[k]] = hub.Appended{Seq: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			return nil, storageErr(fmt.Errorf("publish: %w", err))
		case <-ctx.Done():
			return nil, fmt.Errorf("publish: no answer from the event log: %w", ctx.Err())
		}
	}
	s.noteAppended(out)
	return out, nil
}

func message(e hub.Event) *nats.Msg {
	msg := nats.NewMsg(Subject(e.Header))
	msg.Data = e.Raw
	msg.Header.Set(jetstream.MsgIDHeader, e.Header.ID.String())
	msg.Header.Set(syncproto.HeaderID, e.Header.ID.String())
	msg.Header.Set(syncproto.HeaderType, string(e.Header.Type))
	msg.Header.Set(syncproto.HeaderFamily, e.Header.FamilyID.String())
	if e.Header.MemberID != [16]byte{} {
		msg.Header.Set(syncproto.HeaderMember, e.Header.MemberID.String())
	}
	msg.Header.Set(syncproto.HeaderV, strconv.Itoa(e.Header.V))
	if e.FromCloud {
		msg.Header.Set(HeaderVia, "cloud")
	}
	return msg
}

func (s *Server) appendEach(ctx context.Context, events []hub.Event) ([]hub.Appended, error) {
	futures := make([]jetstream.PubAckFuture, len(events))
	for i, e := range events {
		f, err := s.js.PublishMsgAsync(message(e), jetstream.WithExpectStream(StreamName))
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		futures[i] = f
	}
	out := make([]hub.Appended, len(events))
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			out[i] = hub.Appended{Seq: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			return nil, fmt.Errorf("publish: %w", err)
		case <-ctx.Done():
			return nil, fmt.Errorf("publish: no answer from the event log: %w", ctx.Err())
		}
	}
	return out, nil
}

// errBatchRepeats is JetStream's refusal of an atomic batch holding an id
// it has stored already.
var errBatchRepeats = errors.New("the batch repeats an event the log holds")

// The headers of an atomic batch publish.
const (
	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"
)

type batchAck struct {
	Stream string              `json:"stream"`
	Seq    uint64              `json:"seq"`
	Batch  string              `json:"batch"`
	Count  int                 `json:"count"`
	Error  *jetstream.APIError `json:"error"`
}

// appendAtomic publishes events as one atomic batch: the messages are
// staged, and the last one commits them all, or none. The batch's
// sequences are consecutive, ending at the commit's.
func (s *Server) appendAtomic(ctx context.Context, events []hub.Event) ([]hub.Appended, error) {
	id := uuid.NewString()
	n := len(events)
	var resp *nats.Msg
	for i, e := range events {
		msg := message(e)
		msg.Header.Set(headerBatchID, id)
		msg.Header.Set(headerBatchSeq, strconv.Itoa(i+1))
		if i < n-1 {
			if err := s.nc.PublishMsg(msg); err != nil {
				return nil, fmt.Errorf("publish: %w", err)
			}
			continue
		}
		msg.Header.Set(headerBatchCommit, "1")
		var err error
		if resp, err = s.nc.RequestMsgWithContext(ctx, msg); err != nil {
			return nil, fmt.Errorf("publish: no answer from the event log: %w", err)
		}
	}
	var ack batchAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return nil, fmt.Errorf("publish: the event log's answer: %w", err)
	}
	if ack.Error != nil {
		if ack.Error.ErrorCode == jsAtomicPublishContainsDuplicate {
			return nil, errBatchRepeats
		}
		return nil, fmt.Errorf("publish: %w", ack.Error)
	}
	if ack.Count != n || ack.Seq < uint64(n) {
		return nil, fmt.Errorf("publish: the event log stored a batch of %d, not %d", ack.Count, n)
	}
	out := make([]hub.Appended, n)
	for i := range out {
		out[i].Seq = ack.Seq - uint64(n-1-i)
	}
	return out, nil
}

// JetStream's error codes that mean the log has no room.
const (
	jsAccountResourcesExceeded       jetstream.ErrorCode = 10002
	jsInsufficientResources          jetstream.ErrorCode = 10023
	jsStreamStoreFailed              jetstream.ErrorCode = 10077
	jsAtomicPublishContainsDuplicate jetstream.ErrorCode = 10201
)

// storageErr marks err as hub.ErrStorageFull when it says the log had no
// room: a disk that is full, or a limit of JetStream's.
func storageErr(err error) error {
	if err == nil {
		return nil
	}
	full := false
	if e, ok := errors.AsType[*jetstream.APIError](err); ok {
		switch e.ErrorCode {
		case jsAccountResourcesExceeded, jsInsufficientResources:
			full = true
		case jsStreamStoreFailed:
			full = strings.Contains(e.Description, "maximum") || strings.Contains(e.Description, "no space")
		}
	}
	for _, t := range []string{"no space left", "insufficient resources", "maximum bytes exceeded", "resource limits exceeded"} {
		full = full || strings.Contains(err.Error(), t)
	}
	if full && !errors.Is(err, hub.ErrStorageFull) {
		return fmt.Errorf("%w: %w", hub.ErrStorageFull, err)
	}
	return err
}

// CheckSpace says whether the log can take writes: the disk has at least
// MinFree bytes free and JetStream runs. Its error wraps
// hub.ErrStorageFull when the disk is the problem.
func (s *Server) CheckSpace() error { return s.checkSpace(0) }

func (s *Server) checkSpace(need uint64) error {
	if !s.ns.JetStreamEnabled() {
		return errors.New("JetStream stopped (it does when a write finds the disk full): free some space and restart the hub")
	}
	free, err := s.freeSpace()
	if err != nil {
		s.logger.Warn("free space of the event log's disk", "err", err)
		return nil
	}
	// Twice the batch: the log stages an atomic batch before committing
	// it; and as much again for the state database.
	if want := s.minFree + 4*need; free < want {
		return fmt.Errorf("%w: %d bytes free in %s, the hub keeps %d free", hub.ErrStorageFull, free, s.storeDir, want)
	}
	return nil
}

// State is what the log says of itself, with the sequences it lacks
// between its first and last.
func (s *Server) State(ctx context.Context) (hub.LogState, error) {
	info, err := s.stream.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return hub.LogState{}, fmt.Errorf("stream info: %w", err)
	}
	st := info.State
	return hub.LogState{First: st.FirstSeq, Last: st.LastSeq, Msgs: st.Msgs, Deleted: st.Deleted}, nil
}

// Restore appends events the log lost at its end, at the sequences they
// had: events[0].Seq must be the log's last sequence plus one, and the
// rest must follow without gaps. It is for repair only: the events were
// stored and acknowledged before, and the state database kept them. Each
// publish expects the sequence before it, so nothing lands elsewhere.
func (s *Server) Restore(ctx context.Context, events []hub.Event) error {
	for _, e := range events {
		h := e.Header
		if h.ID == uuid.Nil {
			if dh, err := syncproto.DecodeHeader(e.Raw); err == nil {
				h = dh
			}
		}
		subject := SubjectRoot + ".restored"
		if h.ID != uuid.Nil {
			subject = Subject(h)
		}
		msg := nats.NewMsg(subject)
		msg.Data = e.Raw
		if h.ID != uuid.Nil {
			msg.Header.Set(syncproto.HeaderID, h.ID.String())
			msg.Header.Set(syncproto.HeaderType, string(h.Type))
			msg.Header.Set(syncproto.HeaderFamily, h.FamilyID.String())
			if h.MemberID != uuid.Nil {
				msg.Header.Set(syncproto.HeaderMember, h.MemberID.String())
			}
			msg.Header.Set(syncproto.HeaderV, strconv.Itoa(h.V))
		}
		ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(StreamName), jetstream.WithExpectLastSequence(e.Seq-1))
		if err != nil {
			return fmt.Errorf("restore event %d: %w", e.Seq, storageErr(err))
		}
		if ack.Sequence != e.Seq {
			return fmt.Errorf("restore event %d: stored as %d", e.Seq, ack.Sequence)
		}
	}
	return nil
}

// ReadRaw reads events by sequence, as stored: the map lacks the
// sequences the log does not hold.
func (s *Server) ReadRaw(ctx context.Context, seqs []uint64) (map[uint64][]byte, error) {
	out := make(map[uint64][]byte, len(seqs))
	for _, seq := range seqs {
		msg, err := s.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read event %d: %w", seq, err)
		}
		out[seq] = msg.Data
	}
	return out, nil
}

// LastSeq is the sequence of the newest event in the log.
func (s *Server) LastSeq(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Feed is the projector's durable consumer.
type Feed struct {
	s    *Server
	cons jetstream.Consumer
	// ahead, when set, brings the next batch, fetched while the last one
	// is applied: after a full batch, as when catching up with a long
	// log, so that applying never waits for the log's round trip.
	ahead chan fetched
}

// fetched is a batch read ahead.
type fetched struct {
	events []hub.Event
	last   jetstream.Msg
	err    error
}

// readAhead fetches the next batch of up to max events in the background.
func (f *Feed) readAhead(max int) {
	ch := make(chan fetched, 1)
	f.ahead = ch
	cons := f.cons
	go func() {
		batch, err := cons.FetchNoWait(max)
		if err != nil {
			ch <- fetched{err: err}
			return
		}
		// A fetch that does not wait ends at once: no context to watch.
		events, last, err := collect(context.Background(), batch)
		ch <- fetched{events, last, err}
	}()
}

// dropAhead waits for a batch read ahead and drops it: unacknowledged,
// it is delivered again.
func (f *Feed) dropAhead() {
	if f.ahead != nil {
		<-f.ahead
		f.ahead = nil
	}
}

// OpenFeed returns the projector's durable consumer positioned to deliver
// from start. The state database is the authority on what was applied: a
// consumer left at another position (after a rebuild, or a crash between
// applying and acking) is made anew.
func (s *Server) OpenFeed(ctx context.Context, start uint64) (*Feed, error) {
	// Opening can fail for a moment (a consumer just deleted may still be
	// going away on the server; once, under load in CI, a reopen failed
	// and the cause was not caught): try a few times before giving up.
	var f *Feed
	err := retry.Do(ctx, retry.Policy{Initial: 25 * time.Millisecond, Attempts: 5,
		OnRetry: func(attempt int, err error, _ time.Duration) {
			s.logger.Warn("open the event feed", "start", start, "attempt", attempt, "err", err)
		}}, func(ctx context.Context) error {
		var err error
		f, err = s.openFeed(ctx, start)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (s *Server) openFeed(ctx context.Context, start uint64) (*Feed, error) {
	f := &Feed{s: s}
	if c, err := s.stream.Consumer(ctx, ProjectorKey); err == nil {
		// Reuse it only when it stands exactly where the store does and
		// has nothing in flight: it delivers from what it last delivered,
		// not from its acknowledgement floor, so messages a stopped process
		// fetched and never acknowledged would be skipped now and
		// redelivered only after the ack timeout.
		if info := c.CachedInfo(); info.AckFloor.Stream+1 == start && info.NumAckPending == 0 {
			f.cons = c
			return f, nil
		}
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("projector consumer: %w", err)
	}
	if err := f.Reset(ctx, start); err != nil {
		return nil, err
	}
	return f, nil
}

// Reset makes the consumer anew, delivering from start.
func (f *Feed) Reset(ctx context.Context, start uint64) error {
	f.dropAhead()
	s := f.s
	if err := s.stream.DeleteConsumer(ctx, ProjectorKey); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("reset projector consumer: %w", err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       ProjectorKey,
		Description:   "Applies events to the hub's state database.",
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       10 * time.Second,
		MaxAckPending: 10000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if start > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	}
	c, err := s.stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create projector consumer: %w", err)
	}
	f.cons = c
	return nil
}

// Appended is the newest sequence this server's appends stored (0 before
// the first), and a channel closed once a later append stores more. The
// projector, which is handed what the hub appends, waits on it instead of
// on the consumer; events stored otherwise (a repair) it finds when it
// next asks the log for its end.
func (f *Feed) Appended() (uint64, <-chan struct{}) {
	f.s.appendMu.Lock()
	defer f.s.appendMu.Unlock()
	return f.s.appended, f.s.grew
}

// Next returns the events available now, up to max; when there are none
// it waits up to a second for one, and returns it with whatever followed
// it meanwhile (a write of several events arrives as one batch).
func (f *Feed) Next(ctx context.Context, max int) ([]hub.Event, func() error, error) {
	var events []hub.Event
	var last jetstream.Msg
	var err error
	if f.ahead != nil {
		var r fetched
		select {
		case r = <-f.ahead:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		f.ahead = nil
		events, last, err = r.events, r.last, r.err
	} else {
		batch, ferr := f.cons.FetchNoWait(max)
		if ferr != nil {
			return nil, nil, ferr
		}
		events, last, err = collect(ctx, batch)
	}
	if err == nil && len(events) >= max {
		f.readAhead(max) // more to come, most likely
	}
	if err != nil || len(events) > 0 {
		return events, ackFunc(last), err
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	batch, err := f.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return nil, nil, err
	}
	events, last, err = collect(ctx, batch)
	if err != nil || len(events) == 0 || max <= 1 {
		return events, ackFunc(last), err
	}
	// Should this fail, what it delivered is not returned: the error makes
	// the projector deliver again from the first event it did not apply.
	if batch, err = f.cons.FetchNoWait(max - len(events)); err != nil {
		return nil, nil, err
	}
	more, moreLast, err := collect(ctx, batch)
	if err != nil {
		return nil, nil, err
	}
	if len(more) == 0 {
		return events, ackFunc(last), nil
	}
	return append(events, more...), ackFunc(moreLast), nil
}

// collect reads a fetched batch; it gives up when ctx ends (at shutdown),
// since nothing of an unfinished batch is applied or acknowledged.
func collect(ctx context.Context, batch jetstream.MessageBatch) ([]hub.Event, jetstream.Msg, error) {
	var events []hub.Event
	var last jetstream.Msg
	msgs := batch.Messages()
	for {
		var msg jetstream.Msg
		var ok bool
		select {
		case msg, ok = <-msgs:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if !ok {
			break
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, nil, fmt.Errorf("message metadata: %w", err)
		}
		// The store decodes the event; Header stays empty here.
		events = append(events, hub.Event{Seq: meta.Sequence.Stream, Raw: msg.Data()})
		last = msg
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		return events, last, err
	}
	return events, last, nil
}

func ackFunc(last jetstream.Msg) func() error {
	if last == nil {
		return nil
	}
	return last.Ack
}
