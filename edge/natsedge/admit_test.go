package natsedge

import (
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/edge"
)

var unitSecret = []byte("a unit-test secret of enough bytes")

type admitCase struct {
	name           string
	user, password string
}

// admitCases are logins of every kind edge.Admit tells apart (its own
// test checks its answers; here the two ends must agree on them).
func admitCases(family uuid.UUID) []admitCase {
	good := edge.FamilySecret(unitSecret, family)
	return []admitCase{
		{"the family with its secret", family.String(), good},
		{"the family id in capitals", strings.ToUpper(family.String()), good},
		{"a wrong secret", family.String(), edge.FamilySecret([]byte("another secret of enough bytes"), family)},
		{"another family's secret", family.String(), edge.FamilySecret(unitSecret, uuid.New())},
		{"no password", family.String(), ""},
		{"not a uuid", "a-family", good},
		{"the nil uuid, with its derived secret", uuid.Nil.String(), edge.FamilySecret(unitSecret, uuid.Nil)},
		{"the service user", edge.ServiceUser, good},
	}
}

// TestEmbeddedAndCalloutAgree: for every login, the embedded server's
// check and the callout admit or refuse alike, with the same permissions.
func TestEmbeddedAndCalloutAgree(t *testing.T) {
	co, _ := mustNewCallout(t)
	embedded := &auth{secret: unitSecret, service: "service-password", logger: slog.New(slog.DiscardHandler)}
	for _, c := range admitCases(uuid.New()) {
		t.Run(c.name, func(t *testing.T) {
			conn := &fakeConn{opts: server.ClientOpts{Username: c.user, Password: c.password}}
			admitted := embedded.Check(conn)
			data, _, _ := request(t, c.user, c.password)
			answer, result := co.respond(data)
			if admitted != (result == CalloutAdmitted) {
				t.Fatalf("embedded admitted: %v; callout: %s", admitted, result)
			}
			if !admitted {
				return
			}
			resp, _ := jwt.DecodeAuthorizationResponseClaims(string(answer))
			user, err := jwt.DecodeUserClaims(resp.Jwt)
			if err != nil {
				t.Fatal(err)
			}
			p, q := conn.user.Permissions, user.Permissions
			if conn.user.Username != user.Name || !slices.Equal(p.Publish.Allow, q.Pub.Allow) || !slices.Equal(p.Subscribe.Allow, q.Sub.Allow) ||
				p.Publish.Deny != nil || p.Subscribe.Deny != nil || q.Pub.Deny != nil || q.Sub.Deny != nil || p.Response != nil || q.Resp != nil {
				t.Fatalf("embedded: %s %+v %+v; callout: %s %+v", conn.user.Username, p.Publish, p.Subscribe, user.Name, q)
			}
		})
	}
}

// fakeConn is a connection as the embedded server's check sees it.
type fakeConn struct {
	server.ClientAuthentication
	opts server.ClientOpts
	kind int // server.CLIENT unless set
	user *server.User
}

func (f *fakeConn) Kind() int { return f.kind }

func (f *fakeConn) GetOpts() *server.ClientOpts { return &f.opts }
func (f *fakeConn) RegisterUser(u *server.User) { f.user = u }
func (f *fakeConn) RemoteAddress() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 7422}
}

// TestOperatorLogin: the operator logs in only on the operator's port (a
// client connection, when the server has that port), with the password of
// this start; families are kept off that port, and linked as leaf nodes
// still.
func TestOperatorLogin(t *testing.T) {
	family := uuid.New()
	good := edge.FamilySecret(unitSecret, family)
	for _, c := range []struct {
		name           string
		operatorPort   bool
		user, password string
		kind           int
		admitted       bool
	}{
		{"the operator", true, OperatorUser, "operator-password", server.CLIENT, true},
		{"the operator with a wrong password", true, OperatorUser, "wrong", server.CLIENT, false},
		{"the operator as a leaf node", true, OperatorUser, "operator-password", server.LEAF, false},
		{"the operator with no operator's port", false, OperatorUser, "", server.CLIENT, false},
		{"a family on the operator's port", true, family.String(), good, server.CLIENT, false},
		{"a family's hub linked, with the operator's port", true, family.String(), good, server.LEAF, true},
		{"a family's client with no operator's port", false, family.String(), good, server.CLIENT, true},
		{"the services, with the operator's port", true, edge.ServiceUser, "service-password", server.CLIENT, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &auth{secret: unitSecret, service: "service-password", logger: slog.New(slog.DiscardHandler)}
			if c.operatorPort {
				a.operator = "operator-password"
			}
			conn := &fakeConn{opts: server.ClientOpts{Username: c.user, Password: c.password}, kind: c.kind}
			if got := a.Check(conn); got != c.admitted {
				t.Fatalf("admitted %v, want %v", got, c.admitted)
			}
			if c.admitted && c.user == OperatorUser && !slices.Contains(conn.user.Permissions.Publish.Allow, server.JSApiStreamList) {
				t.Fatalf("the operator's permissions: %+v", conn.user.Permissions.Publish)
			}
		})
	}
}

// request is an authorization request as the server makes one: signed by
// the server's key, for a user key made for the connection.
func request(t *testing.T, user, password string) (data []byte, serverID, userKey string) {
	t.Helper()
	skp, _ := nkeys.CreateServer()
	serverID, _ = skp.PublicKey()
	ukp, _ := nkeys.CreateUser()
	userKey, _ = ukp.PublicKey()
	req := jwt.NewAuthorizationRequestClaims("AAAA-the-issuer")
	req.Audience = server.AuthRequestSubject
	req.UserNkey = userKey
	req.Server = jwt.ServerID{Name: "zoner-cloud-0", ID: serverID}
	req.ClientInformation = jwt.ClientInformation{Host: "192.0.2.7", Kind: "Leafnode"}
	req.ConnectOptions = jwt.ConnectOptions{Username: user, Password: password}
	s, err := req.Encode(skp)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s), serverID, userKey
}

func mustNewCallout(t *testing.T) (*Callout, *CalloutMetrics) {
	t.Helper()
	akp, _ := nkeys.CreateAccount()
	seed, _ := akp.Seed()
	m := NewCalloutMetrics()
	c, err := NewCallout(CalloutConfig{Secret: unitSecret, IssuerSeed: seed, Metrics: m}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestCalloutAnswer: the callout's signed answer carries exactly the
// embedded server's permissions for an admitted family, and a reason for
// a refused login, each for the user key and the server that asked.
func TestCalloutAnswer(t *testing.T) {
	c, _ := mustNewCallout(t)
	family := uuid.New()

	data, serverID, userKey := request(t, family.String(), edge.FamilySecret(unitSecret, family))
	answer, result := c.respond(data)
	if result != CalloutAdmitted {
		t.Fatalf("result %s", result)
	}
	resp := mustDecodeAnswer(t, answer, c.Issuer(), serverID, userKey)
	if resp.Error != "" {
		t.Fatalf("admitted with an error: %s", resp.Error)
	}
	user, err := jwt.DecodeUserClaims(resp.Jwt)
	if err != nil {
		t.Fatal(err)
	}
	if user.Subject != userKey || user.Issuer != c.Issuer() || user.IssuerAccount != "" ||
		user.Audience != "$G" || user.Name != family.String() || user.Expires != 0 {
		t.Fatalf("user claims: subject %s issuer %s issuer account %q audience %q name %q expires %d",
			user.Subject, user.Issuer, user.IssuerAccount, user.Audience, user.Name, user.Expires)
	}
	want := familyPermissions(family)
	p := user.Permissions
	if !slices.Equal(p.Pub.Allow, want.Publish.Allow) || !slices.Equal(p.Sub.Allow, want.Subscribe.Allow) ||
		len(p.Pub.Deny) != 0 || len(p.Sub.Deny) != 0 || p.Resp != nil || want.Response != nil {
		t.Fatalf("permissions %+v, want those of the embedded server %+v %+v", p, want.Publish, want.Subscribe)
	}
	if len(user.AllowedConnectionTypes) != 0 || user.Limits.Subs != jwt.NoLimit || user.Limits.Payload != jwt.NoLimit || user.Limits.Data != jwt.NoLimit {
		t.Fatalf("limits or connection types set: %+v %v", user.Limits, user.AllowedConnectionTypes)
	}

	for _, refused := range []struct{ user, password, reason string }{
		{family.String(), edge.FamilySecret([]byte("another secret of enough bytes"), family), edge.ErrWrongSecret.Error()},
		{uuid.Nil.String(), edge.FamilySecret(unitSecret, uuid.Nil), edge.ErrNotFamily.Error()},
		{edge.ServiceUser, "anything", edge.ErrServiceUser.Error()},
	} {
		data, serverID, userKey := request(t, refused.user, refused.password)
		answer, result := c.respond(data)
		if result != CalloutRefused {
			t.Fatalf("%s: result %s", refused.reason, result)
		}
		resp := mustDecodeAnswer(t, answer, c.Issuer(), serverID, userKey)
		if resp.Jwt != "" || resp.Error != refused.reason {
			t.Fatalf("refused with jwt %q and error %q, want %q", resp.Jwt, resp.Error, refused.reason)
		}
	}
}

func mustDecodeAnswer(t *testing.T, answer []byte, issuer, serverID, userKey string) *jwt.AuthorizationResponseClaims {
	t.Helper()
	resp, err := jwt.DecodeAuthorizationResponseClaims(string(answer))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Issuer != issuer || resp.Audience != serverID || resp.Subject != userKey || resp.IssuerAccount != "" {
		t.Fatalf("answer: issuer %s audience %s subject %s issuer account %q", resp.Issuer, resp.Audience, resp.Subject, resp.IssuerAccount)
	}
	return resp
}

// TestCalloutUnanswerable: requests that are not a server's, or that the
// server encrypted, are counted as errors and get no answer.
func TestCalloutUnanswerable(t *testing.T) {
	c, m := mustNewCallout(t)
	family := uuid.New()
	// Signed by an account key, not a server's.
	akp, _ := nkeys.CreateAccount()
	ukp, _ := nkeys.CreateUser()
	req := jwt.NewAuthorizationRequestClaims("x")
	req.UserNkey, _ = ukp.PublicKey()
	req.Server.ID = "NSERVER"
	req.ConnectOptions = jwt.ConnectOptions{Username: family.String(), Password: edge.FamilySecret(unitSecret, family)}
	forged, _ := req.Encode(akp)
	for name, data := range map[string][]byte{"not a JWT": []byte("hello"), "not a server's": []byte(forged)} {
		if answer, result := c.respond(data); answer != nil || result != CalloutError {
			t.Errorf("%s: answered %q (%s)", name, answer, result)
		}
	}
	// Encrypted: handle drops it before answering (a reply would fail: no
	// connection here).
	data, _, _ := request(t, family.String(), edge.FamilySecret(unitSecret, family))
	msg := nats.NewMsg(server.AuthCalloutSubject)
	msg.Data = data
	msg.Header.Set(server.AuthRequestXKeyHeader, "XSERVERKEY")
	c.handle(msg)
	if n := m.Requests(CalloutError); n != 1 {
		t.Fatalf("errors counted: %d, want 1", n)
	}
}

// TestNewCalloutRefusesBadKeys: the issuer must be an account seed, the
// secret long enough.
func TestNewCalloutRefusesBadKeys(t *testing.T) {
	ukp, _ := nkeys.CreateUser()
	userSeed, _ := ukp.Seed()
	akp, _ := nkeys.CreateAccount()
	accountSeed, _ := akp.Seed()
	for name, cfg := range map[string]CalloutConfig{
		"a user seed":      {Secret: unitSecret, IssuerSeed: userSeed},
		"no seed":          {Secret: unitSecret},
		"a short secret":   {Secret: []byte("short"), IssuerSeed: accountSeed},
		"a public account": {Secret: unitSecret, IssuerSeed: []byte(must(akp.PublicKey()))},
	} {
		if _, err := NewCallout(cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
