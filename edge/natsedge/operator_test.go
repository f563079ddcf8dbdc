package natsedge_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/syncproto"
)

// TestOperatorReadsStreamsAndConsumers: with the operator's port, the
// password written to the data dir lets a plain nats.go client, as the
// nats CLI is, list the streams and the ingest stream's consumers and read
// their state, and nothing more; families are refused there.
func TestOperatorReadsStreamsAndConsumers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cloud, err := natsedge.Start(ctx, natsedge.ServerConfig{StoreDir: filepath.Join(dir, "nats"), Port: -1,
		Secret: testSecret, ServicePassword: "service-password", OperatorAddr: ":0",
		OperatorFile: filepath.Join(dir, natsedge.OperatorPasswordFile)}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	if u := cloud.OperatorURL(); !strings.HasPrefix(u, "nats://127.0.0.1:") {
		t.Fatalf("operator's URL %q: not on the loopback interface", u)
	}
	if cloud.OperatorFile() != filepath.Join(dir, natsedge.OperatorPasswordFile) {
		t.Fatalf("operator's file %q", cloud.OperatorFile())
	}
	fi, err := os.Stat(cloud.OperatorFile())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("the operator's password file has mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(cloud.OperatorFile())
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(b))

	// The bridge's consumer, made by the services.
	svc, err := cloud.Connect("test-service")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	sjs, _ := jetstream.New(svc)
	if _, err := sjs.CreateOrUpdateConsumer(ctx, syncproto.IngestStream, jetstream.ConsumerConfig{Durable: "bridge", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := sjs.Publish(ctx, syncproto.IngestSubject(uuid.New(), syncproto.TypeMeal), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	dial := dialer(cloud.OperatorURL())
	op, err := dial(natsedge.OperatorUser, password)
	if err != nil {
		t.Fatalf("the operator's login: %v", err)
	}
	t.Cleanup(op.Close)
	for _, domain := range []string{"", syncproto.CloudDomain} {
		js, err := jetstream.New(op)
		if domain != "" {
			js, err = jetstream.NewWithDomain(op, domain)
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for s := range js.ListStreams(ctx).Info() {
			names = append(names, s.Config.Name)
			if s.Config.Name == syncproto.IngestStream && s.State.Msgs != 1 {
				t.Errorf("domain %q: ingest stream holds %d messages, want 1", domain, s.State.Msgs)
			}
		}
		if !slices.Contains(names, syncproto.IngestStream) {
			t.Fatalf("domain %q: streams %v, without %s", domain, names, syncproto.IngestStream)
		}
		stream, err := js.Stream(ctx, syncproto.IngestStream)
		if err != nil {
			t.Fatalf("domain %q: stream info: %v", domain, err)
		}
		var consumers []string
		for ci := range stream.ListConsumers(ctx).Info() {
			consumers = append(consumers, ci.Name)
			if ci.NumPending != 1 {
				t.Errorf("domain %q: consumer %s: %d pending, want 1", domain, ci.Name, ci.NumPending)
			}
		}
		if !slices.Equal(consumers, []string{"bridge"}) {
			t.Fatalf("domain %q: consumers %v, want [bridge]", domain, consumers)
		}
		if _, err := stream.Consumer(ctx, "bridge"); err != nil {
			t.Fatalf("domain %q: consumer info: %v", domain, err)
		}
	}

	// Reading only: no message, no new stream or consumer, no deletion, no
	// publishing. Each is refused as a permissions violation, which the
	// server reports at once.
	violations := make(chan error, 16)
	op2, err := dial(natsedge.OperatorUser, password, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		violations <- err
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op2.Close)
	js, _ := jetstream.New(op2)
	stream, err := js.Stream(ctx, syncproto.IngestStream)
	if err != nil {
		t.Fatal(err)
	}
	for what, do := range map[string]func(context.Context) error{
		"read a message": func(ctx context.Context) error { _, err := stream.GetMsg(ctx, 1); return err },
		"make a stream": func(ctx context.Context) error {
			_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OPERATOR", Subjects: []string{"operator.>"}})
			return err
		},
		"make a consumer": func(ctx context.Context) error {
			_, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "operator"})
			return err
		},
		"delete the ingest stream": func(ctx context.Context) error { return js.DeleteStream(ctx, syncproto.IngestStream) },
		"publish an event": func(ctx context.Context) error {
			_, err := js.Publish(ctx, syncproto.IngestSubject(uuid.New(), syncproto.TypeMeal), []byte(`{}`))
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		done := make(chan error, 1)
		go func() { done <- do(ctx) }()
		select {
		case err := <-violations:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Errorf("the operator tried to %s: %v, not a permissions violation", what, err)
			}
			cancel()
			<-done
		case err := <-done:
			cancel()
			t.Errorf("the operator could %s (%v)", what, err)
		}
	}

	// Not for families, nor with a wrong password.
	family := uuid.New()
	for name, login := range map[string][2]string{
		"a family with its credentials": {family.String(), cloud.Credentials(family).Secret},
		"the operator, wrong password":  {natsedge.OperatorUser, password + "x"},
		"the service user":              {"zoner-service", "wrong"},
	} {
		nc, err := dial(login[0], login[1], nats.Timeout(5*time.Second))
		if err == nil {
			nc.Close()
			t.Errorf("%s: admitted on the operator's port", name)
		} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("%s: refused, but not as unauthorized: %v", name, err)
		}
	}
}

// TestOperatorPortOff: without the option there is no operator, and the
// operator's port cannot share the services' client port.
func TestOperatorPortOff(t *testing.T) {
	cloud := mustStart(t)
	if cloud.OperatorURL() != "" || cloud.OperatorFile() != "" {
		t.Fatalf("an operator's port without the option: %q %q", cloud.OperatorURL(), cloud.OperatorFile())
	}
	if _, err := natsedge.Start(context.Background(), natsedge.ServerConfig{StoreDir: t.TempDir(), Port: 0,
		Secret: testSecret, ServicePassword: "service-password", OperatorAddr: "127.0.0.1:0"}, quiet()); err == nil {
		t.Fatal("an operator's port beside the services' client port")
	}
}
