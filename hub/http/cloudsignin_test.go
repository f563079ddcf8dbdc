package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeSignIn is the cloud's end of the link.
type fakeSignIn struct {
	got []syncproto.SignInRequest
	err error
}

func (f *fakeSignIn) SignIn(_ context.Context, req syncproto.SignInRequest) (syncproto.SignInReply, error) {
	f.got = append(f.got, req)
	if f.err != nil {
		return syncproto.SignInReply{}, f.err
	}
	return syncproto.SignInReply{URL: "https://zoner.example/#/signin/ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST",
		ExpiresAt: time.Date(2026, 12, 20, 7, 40, 0, 0, time.UTC)}, nil
}

// oneMemberStore knows one member.
type oneMemberStore struct {
	*fakeStore
	member uuid.UUID
}

func (s oneMemberStore) Member(_ context.Context, id uuid.UUID) (*hub.Member, error) {
	if id == s.member {
		return &hub.Member{ID: id}, nil
	}
	return nil, nil
}

// A paired device asks for a sign-in link for a member or for the
// family; the hub checks the member, asks the cloud and draws the QR
// code. An unlinked hub says how to link it; a link that is down, to
// try again.
func TestCloudSignInLinks(t *testing.T) {
	member := uuid.MustParse("01a2156f-95c6-7000-8000-000000000002")
	s := &hubhttp.Server{Store: oneMemberStore{&fakeStore{}, member}, Log: &fakeLog{}, Broker: hub.NewBroker(), Metrics: hub.NewMetrics(),
		Logger: slog.New(slog.DiscardHandler)}
	h := &testHub{handler: s.Handler(), logs: &logBuffer{}}
	post := func(body string) answer {
		return h.do("POST", "/api/v1/cloud/signin-links", []byte(body), "Content-Type", "application/json")
	}
	a := post(`{"role":"guardian"}`)
	if e := a.errorOf(t); a.status != 409 || !strings.Contains(e.Message, "-cloud-url and -cloud-creds") {
		t.Fatalf("unlinked: %d %s", a.status, a.body)
	}
	cloud := &fakeSignIn{}
	s.SignInVia(cloud)
	a = post(`{"role":"member","member_id":"` + member.String() + `","device":"Kemi's phone"}`)
	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
		QRSVG     string    `json:"qr_svg"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &link) != nil || !strings.Contains(link.URL, "/#/signin/") || !strings.HasPrefix(link.QRSVG, "<svg ") || link.ExpiresAt.IsZero() {
		t.Fatalf("member link: %d %s", a.status, a.body)
	}
	if len(cloud.got) != 1 || cloud.got[0] != (syncproto.SignInRequest{Role: "member", MemberID: member, Device: "Kemi's phone"}) {
		t.Fatalf("asked the cloud %+v", cloud.got)
	}
	if a := post(`{"role":"guardian","device":"laptop"}`); a.status != 200 {
		t.Fatalf("guardian link: %d %s", a.status, a.body)
	}
	for body, want := range map[string]int{
		`{"role":"member","member_id":"` + uuid.NewString() + `"}`: 404,
		`{"role":"member"}`: 400,
		`{"role":"guardian","member_id":"` + member.String() + `"}`: 400,
		`{"role":"admin"}`:                 400,
		`{"role":"guardian","extra":true}`: 400,
		`not json`:                         400,
	} {
		if a := post(body); a.status != want {
			t.Errorf("%s: %d, want %d: %s", body, a.status, want, a.body)
		}
	}
	if len(cloud.got) != 2 {
		t.Errorf("refused requests reached the cloud: %+v", cloud.got)
	}
	cloud.err = errors.New("the link to the cloud is down now")
	if a := post(`{"role":"guardian"}`); a.status != 503 || !strings.Contains(a.errorOf(t).Message, "linked") {
		t.Fatalf("link down: %d %s", a.status, a.body)
	}
}
