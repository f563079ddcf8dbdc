// Package webpush sends the cloud's Web Push reminders: it implements
// cloud.Pusher with github.com/SherClockHolmes/webpush-go, which encrypts
// each payload for the subscription (RFC 8291, aes128gcm) and signs a VAPID
// token (RFC 8292, ES256) for the push service. It also makes, loads and
// checks VAPID key pairs.
package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"
	"github.com/zoner-family/zoner/cloud"
)

// Keys is a VAPID key pair: P-256, base64url without padding; Public is
// the uncompressed point (65 bytes), Private the scalar (32 bytes).
type Keys struct {
	Public  string `json:"public"`
	Private string `json:"private"`
}

// GenerateKeys makes a new VAPID key pair.
func GenerateKeys() (Keys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, fmt.Errorf("webpush: generate VAPID keys: %w", err)
	}
	return Keys{
		Public:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(k.Bytes()),
	}, nil
}

// ParseKeys reads a key pair as stored by LoadOrCreate (JSON with
// "public" and "private"), or the private key alone in base64url, and
// checks that the public key belongs to the private one.
func ParseKeys(b []byte) (Keys, error) {
	var k Keys
	text := strings.TrimSpace(string(b))
	if strings.HasPrefix(text, "{") {
		if err := json.Unmarshal([]byte(text), &k); err != nil {
			return Keys{}, fmt.Errorf("webpush: VAPID keys: %w", err)
		}
	} else {
		k.Private = text
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Private, "="))
	if err != nil {
		return Keys{}, errors.New("webpush: VAPID private key: not base64url")
	}
	priv, err := ecdh.P256().NewPrivateKey(raw)
	if err != nil {
		return Keys{}, fmt.Errorf("webpush: VAPID private key: %w", err)
	}
	pub := base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes())
	if k.Public != "" && strings.TrimRight(k.Public, "=") != pub {
		return Keys{}, errors.New("webpush: the VAPID public key does not belong to the private key")
	}
	return Keys{Public: pub, Private: base64.RawURLEncoding.EncodeToString(raw)}, nil
}

// LoadOrCreate reads the key pair in path, or makes one and writes it
// there (mode 0600) when the file does not exist.
func LoadOrCreate(path string) (Keys, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKeys(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Keys{}, fmt.Errorf("webpush: read VAPID keys: %w", err)
	}
	k, err := GenerateKeys()
	if err != nil {
		return Keys{}, err
	}
	b, _ = json.Marshal(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Keys{}, fmt.Errorf("webpush: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // made meanwhile by another process
			return LoadOrCreate(path)
		}
		return Keys{}, fmt.Errorf("webpush: write VAPID keys: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Keys{}, fmt.Errorf("webpush: write VAPID keys: %w", err)
	}
	return k, nil
}

// Sender is a cloud.Pusher.
type Sender struct {
	keys Keys
	// subscriber is the VAPID token's sub: a mailto: or https: contact
	// the push service can reach the sender at.
	subscriber string
	client     *http.Client
}

var _ cloud.Pusher = (*Sender)(nil)

// DefaultTimeout bounds one push when the client sets none.
const DefaultTimeout = 10 * time.Second

// New returns a Sender signing with keys. subscriber is a contact for the
// push services (an e-mail address, or an https URL); client nil is a
// client with DefaultTimeout.
func New(keys Keys, subscriber string, client *http.Client) (*Sender, error) {
	k, err := ParseKeys([]byte(keys.Private))
	if err != nil {
		return nil, err
	}
	if keys.Public != "" && strings.TrimRight(keys.Public, "=") != k.Public {
		return nil, errors.New("webpush: the VAPID public key does not belong to the private key")
	}
	if subscriber == "" {
		return nil, errors.New("webpush: a contact (mailto: or https:) for the push services is needed")
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	// The library adds "mailto:" to anything that is not an https URL.
	subscriber = strings.TrimPrefix(subscriber, "mailto:")
	return &Sender{keys: k, subscriber: subscriber, client: client}, nil
}

// PublicKey is the VAPID public key browsers subscribe with.
func (s *Sender) PublicKey() string { return s.keys.Public }

// maxRecordSize is the record size of the encrypted body: the library
// pads every payload to it, and push services take at most 4096 bytes.
const maxRecordSize = 4096

// Push encrypts m's payload for the subscription and posts it to the
// subscription's endpoint with the VAPID Authorization, TTL, Urgency and
// Topic headers. A 404 or 410 answer is cloud.ErrPushGone; any other
// answer but 2xx is an error.
func (s *Sender) Push(ctx context.Context, sub cloud.PushSubscription, m cloud.PushMessage) error {
	resp, err := wp.SendNotificationWithContext(ctx, m.Payload, &wp.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     wp.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh},
	}, &wp.Options{
		HTTPClient:      s.client,
		RecordSize:      maxRecordSize,
		Subscriber:      s.subscriber,
		Topic:           m.Topic,
		TTL:             int(m.TTL / time.Second),
		Urgency:         wp.Urgency(m.Urgency),
		VAPIDPublicKey:  s.keys.Public,
		VAPIDPrivateKey: s.keys.Private,
	})
	if err != nil {
		return fmt.Errorf("webpush: send: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("webpush: %s: %w", resp.Status, cloud.ErrPushGone)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("webpush: the push service answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
