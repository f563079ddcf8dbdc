package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/webpush"
	"github.com/zoner-family/zoner/internal/proctest"
)

// all makes its VAPID keys once in DATA and serves the public key; a
// subscription and a member's settings taken by the API are in DATA's
// push store after a restart, with the same key.
func TestAllPushKeysAndStore(t *testing.T) {
	dir := t.TempDir()
	family, member := uuid.New(), uuid.New()
	start := func() *Main {
		m := NewMain()
		if err := m.ParseFlags(context.Background(), []string{"all", "-data", dir,
			"-leaf", proctest.FreeAddr(t), "-api", "127.0.0.1:0", "-http", "127.0.0.1:0"}); err != nil {
			t.Fatal(err)
		}
		m.Logger, m.Stdout = testLogger(), &bytes.Buffer{}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := start()
	keys, err := webpush.LoadOrCreate(filepath.Join(dir, vapidKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PublicKey string `json:"public_key"`
	}
	if code := call(t, "GET", m.APIURL+"/v1/push/vapid-key", "", nil, &got); code != 200 || got.PublicKey != keys.Public {
		t.Fatalf("vapid-key: %d %q, want %q", code, got.PublicKey, keys.Public)
	}
	tok := issue(t, m, family, member)
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	body, _ := json.Marshal(map[string]any{"endpoint": "https://push.example/send/1",
		"keys":    map[string]string{"p256dh": base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)},
		"members": []uuid.UUID{member}})
	if code := call(t, "POST", m.APIURL+"/v1/families/"+family.String()+"/push/subscriptions", tok, body, nil); code != 200 {
		t.Fatalf("subscribe: %d", code)
	}
	if code := call(t, "PUT", m.APIURL+"/v1/families/"+family.String()+"/members/"+member.String()+"/notifications", tok,
		[]byte(`{"enabled":true,"quiet_start":"22:00","quiet_end":"07:00"}`), nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	m.Close()

	m = start()
	t.Cleanup(func() { m.Close() })
	if code := call(t, "GET", m.APIURL+"/v1/push/vapid-key", "", nil, &got); code != 200 || got.PublicKey != keys.Public {
		t.Fatalf("after a restart: vapid-key %d %q, want %q", code, got.PublicKey, keys.Public)
	}
	subs, err := m.Push.store.Subscriptions(t.Context(), family)
	if err != nil || len(subs) != 1 || subs[0].Endpoint != "https://push.example/send/1" {
		t.Fatalf("after a restart: subscriptions %+v, %v", subs, err)
	}
	prefs, _ := m.Push.store.NotifyPrefs(t.Context(), family)
	if p := prefs[member]; !p.Enabled || p.QuietStart != "22:00" {
		t.Fatalf("after a restart: settings %+v", p)
	}
}

// issue signs a member's token with m's secret.
func issue(t *testing.T, m *Main, family, member uuid.UUID) string {
	t.Helper()
	tok, err := chttp.IssueToken(m.TokenSecret, chttp.Claims{Role: chttp.RoleMember, Family: family, Subject: member.String()}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
