package syncproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
)

// The link between a hub and the cloud runs over NATS (the hub is a leaf
// node of the cloud's servers). These are its subjects and headers; both
// ends take them from here.
const (
	// IngestRoot: a hub publishes each event to IngestRoot.<family>.<type>,
	// where the cloud's ingest stream keeps it. Events the cloud makes for
	// a family (flight updates) go there too.
	IngestRoot = "zoner.ingest"
	// DownRoot: DownRoot.<family>.fetch answers a hub's FetchRequest with
	// the family's events from the ingest stream; DownRoot.<family>.ring
	// tells the family's hubs that the cloud stored something new (rung
	// by whoever stored it, once it is stored, with its hub id or "cloud").
	DownRoot = "zoner.down"
	// ReplyRoot.<family> is the inbox prefix of a family's hubs: the cloud
	// lets a family's hubs receive replies only under it.
	ReplyRoot = "zoner.reply"
	// RingFromCloud is what a ring carries when the cloud rang (a hub's
	// ring carries the hub's id).
	RingFromCloud = "cloud"
)

// The JetStream names both ends use. The hub is a leaf node of the cloud's
// servers, so each side keeps its streams in a domain of its own.
const (
	// HubDomain is the JetStream domain of a hub's embedded server.
	HubDomain = "hub"
	// CloudDomain is the JetStream domain of the cloud's servers.
	CloudDomain = "cloud"
	// IngestStream is the cloud's stream of every family's events, on
	// IngestRoot.>: a hub expects its PubAcks from it, and refuses any
	// other stream's.
	IngestStream = "INGEST"
)

// Headers on every event message, so that relays route an event without
// decoding it. Nats-Msg-Id carries the id as well, for deduplication.
const (
	HeaderID     = "Zoner-Id"
	HeaderType   = "Zoner-Type"
	HeaderFamily = "Zoner-Family"
	HeaderMember = "Zoner-Member"
	HeaderV      = "Zoner-V"
	// HeaderHub names the hub that sent an event up, so that the downlink
	// need not send it back.
	HeaderHub = "Zoner-Hub"
)

// IngestSubject is where an event of a family is published in the cloud.
func IngestSubject(family uuid.UUID, t Type) string {
	return IngestRoot + "." + family.String() + "." + string(t)
}

// FetchSubject is where a family's hubs ask the cloud for its events.
func FetchSubject(family uuid.UUID) string {
	return DownRoot + "." + family.String() + ".fetch"
}

// RingSubject is where a family's hubs hear that the cloud stored new
// events of the family.
func RingSubject(family uuid.UUID) string {
	return DownRoot + "." + family.String() + ".ring"
}

// SignInSubject is where a family's hubs ask the cloud for a sign-in link
// (a SignInRequest, answered with a SignInReply): the cloud takes the
// family from the subject, which only that family's hubs may publish to.
func SignInSubject(family uuid.UUID) string {
	return DownRoot + "." + family.String() + ".signin"
}

// PriorsSubject is where a family's hubs ask the cloud for the population
// priors of the body clock (any body, answered with a PriorsReply).
func PriorsSubject(family uuid.UUID) string {
	return DownRoot + "." + family.String() + ".priors"
}

// ClockPrior is what the cloud learned of the intrinsic period of the
// people of one age band and chronotype: the mean period and its spread
// between people, hours, from People members' calibrations.
type ClockPrior struct {
	AgeBand    AgeBand    `json:"age_band"`
	Chronotype Chronotype `json:"chronotype"`
	TauHours   float64    `json:"tau_hours"`
	TauSDHours float64    `json:"tau_sd_hours"`
	People     int        `json:"people"`
}

// PriorsReply answers a request on PriorsSubject: a prior for each age
// band and chronotype the cloud knows enough people of; Error, when set,
// says why there are none.
type PriorsReply struct {
	Priors []ClockPrior `json:"priors"`
	Error  string       `json:"error,omitempty"`
}

// The roles a sign-in link may give.
const (
	SignInGuardian = "guardian"
	SignInMember   = "member"
)

// SignInRequest asks the cloud for a single-use sign-in link: for one
// member (Role SignInMember and MemberID) or for the family as a guardian
// (Role SignInGuardian, no MemberID). Device names the device the link is
// for, as the person asking put it, shown in the family's session list.
type SignInRequest struct {
	Role     string    `json:"role"`
	MemberID uuid.UUID `json:"member_id,omitzero"`
	Device   string    `json:"device,omitempty"`
}

// SignInReply answers a SignInRequest: the link to open (its code in the
// URL's fragment) and when it stops working; Error, when set, says why
// there is none.
type SignInReply struct {
	URL       string    `json:"url,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// ReplyPrefix is the inbox prefix of a family's hubs.
func ReplyPrefix(family uuid.UUID) string {
	return ReplyRoot + "." + family.String()
}

// FetchRequest asks for a family's events stored in the cloud after After
// (a position in the cloud's stream), at most Max of them, leaving out
// those the asking hub sent itself.
type FetchRequest struct {
	After uint64 `json:"after"`
	Max   int    `json:"max"`
	Hub   string `json:"hub,omitempty"`
}

// FetchReply is the answer: the events, byte for byte as stored, and the
// position to ask from next. More says the cloud held back events for a
// next request; Error, when set, says why nothing could be read.
type FetchReply struct {
	Events [][]byte
	Last   uint64
	More   bool
	Error  string
}

// MarshalFetchReply frames a reply: a JSON line with the position, then
// each event as a length (uvarint) and its bytes, so that no event is
// re-encoded on the way.
func MarshalFetchReply(r FetchReply) []byte {
	head, _ := json.Marshal(struct {
		Last  uint64 `json:"last"`
		More  bool   `json:"more,omitempty"`
		N     int    `json:"n"`
		Error string `json:"error,omitempty"`
	}{r.Last, r.More, len(r.Events), r.Error})
	size := len(head) + 1
	for _, e := range r.Events {
		size += binary.MaxVarintLen64 + len(e)
	}
	out := make([]byte, 0, size)
	out = append(out, head...)
	out = append(out, '\n')
	for _, e := range r.Events {
		out = binary.AppendUvarint(out, uint64(len(e)))
		out = append(out, e...)
	}
	return out
}

// UnmarshalFetchReply reads a framed reply.
func UnmarshalFetchReply(b []byte) (FetchReply, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return FetchReply{}, errors.New("fetch reply: no header line")
	}
	var head struct {
		Last  uint64 `json:"last"`
		More  bool   `json:"more"`
		N     int    `json:"n"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b[:i], &head); err != nil {
		return FetchReply{}, fmt.Errorf("fetch reply header: %w", err)
	}
	r := FetchReply{Last: head.Last, More: head.More, Error: head.Error}
	rest := b[i+1:]
	for range head.N {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return FetchReply{}, fmt.Errorf("fetch reply: event %d is cut short", len(r.Events))
		}
		r.Events = append(r.Events, rest[k:k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return FetchReply{}, fmt.Errorf("fetch reply: %d bytes after the last event", len(rest))
	}
	return r, nil
}

// Credentials let one family's hubs link to the cloud: the cloud accepts
// the family id as the user name with the secret it derived for it, and
// lets that user touch only the family's subjects. A credentials file
// holds them as JSON: {"family_id": "...", "secret": "..."}.
type Credentials struct {
	FamilyID uuid.UUID `json:"family_id"`
	Secret   string    `json:"secret"`
}

// String never shows the secret.
func (c Credentials) String() string { return "credentials of family " + c.FamilyID.String() }

// GoString never shows the secret either.
func (c Credentials) GoString() string { return c.String() }

// ReadCredentials reads and checks a credentials file.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("read cloud credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("cloud credentials %s: not the JSON {\"family_id\": ..., \"secret\": ...}: %w", path, err)
	}
	if c.FamilyID == uuid.Nil {
		return Credentials{}, fmt.Errorf("cloud credentials %s: family_id is missing", path)
	}
	if c.Secret == "" {
		return Credentials{}, fmt.Errorf("cloud credentials %s: secret is missing", path)
	}
	return c, nil
}
