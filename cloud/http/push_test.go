package http

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
)

// testVAPIDKey is a VAPID public key's form (87 base64url characters).
var testVAPIDKey = "B" + strings.Repeat("A", 86)

// fakePush is the push side of a fakeBackend: a real cloud.PushAPI over
// an in-memory push store.
type fakePush struct {
	api   *cloud.PushAPI
	store *memcache.Push
	noKey bool
}

var fakePushes sync.Map // *fakeBackend → *fakePush

func (f *fakeBackend) push() *fakePush {
	if p, ok := fakePushes.Load(f); ok {
		return p.(*fakePush)
	}
	store, _ := memcache.OpenPush("", nil)
	p, _ := fakePushes.LoadOrStore(f, &fakePush{store: store, api: &cloud.PushAPI{Store: store, PublicKey: testVAPIDKey,
		Now: func() time.Time { return testStart }}})
	return p.(*fakePush)
}

func (f *fakeBackend) VAPIDPublicKey() string {
	f.record("VAPIDPublicKey")
	if f.push().noKey {
		return ""
	}
	return f.push().api.VAPIDPublicKey()
}

func (f *fakeBackend) SubscribePush(ctx context.Context, family uuid.UUID, s cloud.PushSubscription) (string, error) {
	if err := f.record("SubscribePush"); err != nil {
		return "", err
	}
	return f.push().api.SubscribePush(ctx, family, s)
}

func (f *fakeBackend) UnsubscribePush(ctx context.Context, family uuid.UUID, endpoint string) error {
	if err := f.record("UnsubscribePush"); err != nil {
		return err
	}
	return f.push().api.UnsubscribePush(ctx, family, endpoint)
}

func (f *fakeBackend) SetNotifyPrefs(ctx context.Context, family, member uuid.UUID, n cloud.NotifyPrefs) (cloud.NotifyPrefs, error) {
	if err := f.record("SetNotifyPrefs"); err != nil {
		return n, err
	}
	return f.push().api.SetNotifyPrefs(ctx, family, member, n)
}

// subscriptionBody is a browser's subscription JSON with fresh keys.
func subscriptionBody(t *testing.T, endpoint string, members ...uuid.UUID) []byte {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil,
		"keys":    map[string]string{"p256dh": base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)},
		"members": members})
	return b
}

func subsPath(family uuid.UUID) string {
	return "/v1/families/" + family.String() + "/push/subscriptions"
}

func notifPath(family, member uuid.UUID) string {
	return "/v1/families/" + family.String() + "/members/" + member.String() + "/notifications"
}

// pushFlow is the push routes' part of TestOpenAPIResponsesConform.
func pushFlow(t *testing.T, v *oaValidator, ts *testServer) {
	fb := ts.backend
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	other := ts.token(t, RoleGuardian, familyB, "user-2")
	ep := "https://push.example/send/abc"
	del := subsPath(familyA) + "?endpoint=" + url.QueryEscape(ep)

	r := v.do(ts, false, 200, "GET", "/v1/push/vapid-key", "", nil)
	if !strings.Contains(string(r.body), testVAPIDKey) {
		t.Errorf("vapid-key: %s", r.body)
	}
	v.do(ts, false, 200, "POST", subsPath(familyA), guardian, subscriptionBody(t, ep, memberA, memberX))
	v.do(ts, false, 200, "POST", subsPath(familyA), member, subscriptionBody(t, ep+"2", memberA))
	v.do(ts, false, 200, "DELETE", del, member, nil)
	v.do(ts, false, 200, "PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true,"quiet_start":"22:00","quiet_end":"07:00"}`))
	v.do(ts, false, 200, "PUT", notifPath(familyA, memberX), guardian, []byte(`{"enabled":false}`))

	// Refusals.
	v.do(ts, false, 401, "POST", subsPath(familyA), "", subscriptionBody(t, ep, memberA))
	v.do(ts, false, 401, "DELETE", del, "", nil)
	v.do(ts, false, 401, "PUT", notifPath(familyA, memberA), "", []byte(`{"enabled":true}`))
	v.do(ts, false, 403, "POST", subsPath(familyA), other, subscriptionBody(t, ep, memberA))
	v.do(ts, false, 403, "POST", subsPath(familyA), member, subscriptionBody(t, ep, memberX)) // another member's
	v.do(ts, false, 403, "DELETE", del, other, nil)
	v.do(ts, false, 403, "PUT", notifPath(familyA, memberX), member, []byte(`{"enabled":true}`))
	v.do(ts, false, 403, "PUT", notifPath(familyC, memberA), guardian, []byte(`{"enabled":true}`))
	v.do(ts, true, 400, "POST", subsPath(familyA), guardian, subscriptionBody(t, "http://push.example/x", memberA))
	// An id that is not one: to an admin, who may see every family, 404,
	// as every family route answers (anyone else learns nothing: 403).
	admin := ts.token(t, RoleAdmin, uuid.Nil, "ops")
	v.do(ts, true, 404, "POST", "/v1/families/not-a-family/push/subscriptions", admin, subscriptionBody(t, ep, memberA))
	v.do(ts, true, 404, "DELETE", "/v1/families/not-a-family/push/subscriptions?endpoint="+url.QueryEscape(ep), admin, nil)
	v.do(ts, true, 404, "PUT", "/v1/families/"+familyA.String()+"/members/not-a-member/notifications", admin, []byte(`{"enabled":true}`))
	v.do(ts, false, 400, "POST", subsPath(familyA), guardian, []byte(`{"endpoint":"https://push.example/x","keys":{"p256dh":"AAAA","auth":"AAAA"},"members":["`+memberA.String()+`"]}`))
	v.do(ts, true, 400, "POST", subsPath(familyA), guardian, []byte(`{"endpoint":"https://push.example/x"}`))
	v.do(ts, true, 400, "DELETE", subsPath(familyA), guardian, nil)
	v.do(ts, false, 400, "PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true,"quiet_start":"22:00"}`))
	v.do(ts, true, 400, "PUT", notifPath(familyA, memberA), member, []byte(`{"quiet_start":"25:00","quiet_end":"07:00"}`))
	v.do(ts, true, 400, "PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true,"lead":5}`))
	big := []byte(`{"enabled":true,"quiet_start":"` + strings.Repeat(" ", MaxPushBodyBytes) + `"}`)
	v.do(ts, true, 413, "PUT", notifPath(familyA, memberA), member, big)
	v.do(ts, true, 413, "POST", subsPath(familyA), guardian, big)

	// The backend fails.
	fb.err = &cloud.Error{Code: cloud.CodeUnavailable, Message: "the push store does not answer; retry"}
	v.do(ts, false, 503, "POST", subsPath(familyA), guardian, subscriptionBody(t, ep, memberA))
	v.do(ts, false, 503, "DELETE", del, guardian, nil)
	v.do(ts, false, 503, "PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true}`))
	fb.err = errSomething
	v.do(ts, false, 500, "POST", subsPath(familyA), guardian, subscriptionBody(t, ep, memberA))
	v.do(ts, false, 500, "DELETE", del, guardian, nil)
	v.do(ts, false, 500, "PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true}`))
	fb.err = nil
	fb.panicMsg = "boom"
	v.do(ts, false, 500, "GET", "/v1/push/vapid-key", "", nil)
	fb.panicMsg = ""
	fb.push().noKey = true
	v.do(ts, false, 503, "GET", "/v1/push/vapid-key", "", nil)
	fb.push().noKey = false

	// A token's limit.
	tight := mustOpenServer(t, Config{RatePerSecond: 0.001, Burst: 1})
	for _, c := range []struct {
		method, path string
		body         []byte
	}{
		{"POST", subsPath(familyA), subscriptionBody(t, ep, memberA)},
		{"DELETE", del, nil},
		{"PUT", notifPath(familyA, memberA), []byte(`{"enabled":true}`)},
	} {
		tok := tight.token(t, RoleGuardian, familyA, "user-"+c.method)
		v.do(tight, false, 200, c.method, c.path, tok, c.body)
		v.do(tight, false, 429, c.method, c.path, tok, c.body)
	}
}

var errSomething = &plainError{"redis: connection reset"}

type plainError struct{ s string }

func (e *plainError) Error() string { return e.s }

// What the routes store: the subscription under its endpoint's id with
// its members, a member's settings; a member may not subscribe a device
// for another member; a second family sees nothing of the first's.
func TestPushRoutesStore(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	ctx := t.Context()
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	ep := "https://push.example/send/xyz"
	r := ts.do("POST", subsPath(familyA), guardian, subscriptionBody(t, ep, memberA, memberX, memberA))
	if r.code != 200 {
		t.Fatalf("subscribe: %d %s", r.code, r.body)
	}
	var got struct {
		ID      string      `json:"id"`
		Members []uuid.UUID `json:"members"`
	}
	json.Unmarshal(r.body, &got)
	if got.ID != cloud.PushSubscriptionID(ep) || len(got.Members) != 2 {
		t.Errorf("answer %s", r.body)
	}
	store := ts.backend.push().store
	subs, _ := store.Subscriptions(ctx, familyA)
	if len(subs) != 1 || subs[0].Endpoint != ep || len(subs[0].Members) != 2 || !subs[0].Created.Equal(testStart.Truncate(time.Second)) {
		t.Fatalf("stored %+v", subs)
	}
	if subs, _ := store.Subscriptions(ctx, familyB); len(subs) != 0 {
		t.Errorf("family B has %d", len(subs))
	}
	member := ts.token(t, RoleMember, familyA, memberA.String())
	if r := ts.do("PUT", notifPath(familyA, memberA), member, []byte(`{"enabled":true,"quiet_start":"21:30","quiet_end":"06:45"}`)); r.code != 200 {
		t.Fatalf("put: %d %s", r.code, r.body)
	}
	prefs, _ := store.NotifyPrefs(ctx, familyA)
	if p := prefs[memberA]; !p.Enabled || p.QuietStart != "21:30" || p.QuietEnd != "06:45" {
		t.Errorf("stored %+v", p)
	}
	if r := ts.do("DELETE", subsPath(familyA)+"?endpoint="+url.QueryEscape(ep), member, nil); r.code != 200 {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if subs, _ := store.Subscriptions(ctx, familyA); len(subs) != 0 {
		t.Errorf("after delete: %+v", subs)
	}
}
